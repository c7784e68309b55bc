// The deterministic simulator: replays are exact, fault-free runs commit,
// and every checker catches the bug planted for it.
#include "sim/dst/dst.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <set>

#include "sim/dst/experiment.h"
#include "sim/dst/machine.h"
#include "sim/dst/sim_cpu.h"
#include "sim/report/budget.h"

namespace ringchain::dst {
namespace {

options base(std::uint64_t seed, std::uint64_t blocks = 60) {
  spdlog::set_level(spdlog::level::off);  // disk faults make nodes log at critical
  options o;
  o.seed = seed;
  o.blocks = blocks;
  o.work_dir = std::filesystem::temp_directory_path() / "ringchain-dst-tests";
  return o;
}

TEST(Dst, SameSeedSameRun) {
  const result a = run(base(7));
  const result b = run(base(7));
  ASSERT_TRUE(a.ok) << a.violation;
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.injected, b.injected);
  const result c = run(base(8));
  EXPECT_NE(a.trace_hash, c.trace_hash);
}

TEST(Dst, FaultFreeRunCommitsEveryRoundAndAcknowledgesLoad) {
  options o = base(3, 100);
  o.swarm = false;
  const result r = run(o);
  ASSERT_TRUE(r.ok) << r.violation;
  EXPECT_GE(r.height, 100u);
  EXPECT_TRUE(r.injected.empty());
  EXPECT_EQ(r.injected.summary(), "");
  // Four transactions a round, nearly all acknowledged.
  EXPECT_GE(r.acked_txs, 4u * 90);
  // One block per 100 ms round: the run is not much longer than its rounds.
  EXPECT_LT(r.simulated_s, 12.0);
}

// Compaction and snapshot installs run under the swarm's faults: nodes take
// snapshots, and nodes that were down or cut off install them from the
// leader, within a few seeds.
TEST(Dst, SwarmRunsTakeAndInstallSnapshots) {
  std::uint64_t taken = 0, installed = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const result r = run(base(seed, 200));
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.violation;
    taken += r.snapshots_taken;
    installed += r.snapshots_installed;
  }
  EXPECT_GT(taken, 30u);
  EXPECT_GT(installed, 2u);
}

TEST(Dst, SwarmPicksDifferentMixesPerSeed) {
  std::set<std::string> mixes;
  for (std::uint64_t s = 1; s <= 20; ++s) mixes.insert(swarm_faults(s).spec());
  EXPECT_GE(mixes.size(), 18u);
  EXPECT_EQ(swarm_faults(5).spec(), swarm_faults(5).spec());
}

// The mix a spec names; fails the test when it does not parse.
fault_mix faults(const std::string& spec) {
  const base::result<fault_mix> m = parse_faults(spec);
  EXPECT_TRUE(m.ok()) << spec << ": " << m.message();
  return m.ok() ? *m : fault_mix{};
}

TEST(Dst, ParseFaultsNamesUnknownKinds) {
  const fault_mix m = faults("crash,loss");
  EXPECT_GT(m.crash_per_s, 0);
  EXPECT_GT(m.loss, 0);
  EXPECT_EQ(m.partition_per_s, 0);
  EXPECT_EQ(parse_faults("crash,meteor").message(),
            "unknown fault kind \"meteor\"; known: loss duplicate reorder partition asymmetric "
            "isolate_leader clog crash pause torn_write barrier_error disk_full corrupt slow_disks "
            "membership");
}

TEST(Dst, ParseFaultsTakesIntensities) {
  const fault_mix m = faults("crash=1.5,loss=0.25,reorder");
  EXPECT_EQ(m.crash_per_s, 1.5);
  EXPECT_EQ(m.loss, 0.25);
  EXPECT_TRUE(m.reorder);
  // Probabilities stop at 1, rates must be positive, switches take no value.
  EXPECT_EQ(parse_faults("loss=2").message(),
            "\"loss=2\": loss takes a number above 0 and at most 1 (a probability)");
  EXPECT_EQ(parse_faults("crash=0").message(),
            "\"crash=0\": crash takes a number above 0 and at most 100 (per second)");
  EXPECT_NE(parse_faults("crash=fast").message().find("crash=fast"), std::string::npos);
  EXPECT_EQ(parse_faults("reorder=1").message(), "\"reorder\" is a switch and takes no value");
}

// One table names every kind: parsing, printing and counting agree.
TEST(Dst, FaultKindsRoundTripTheirNames) {
  const std::vector<std::string> names = fault_mix::kinds();
  ASSERT_EQ(names.size(), fault_kind_count);
  for (std::size_t k = 0; k < fault_kind_count; ++k) {
    const auto kind = static_cast<fault_kind>(k);
    EXPECT_EQ(to_string(kind), names[k]);
    EXPECT_EQ(parse_fault_kind(names[k]), kind);
  }
  EXPECT_FALSE(parse_fault_kind("meteor"));
  fault_counts c;
  c[fault_kind::torn_write] = 2;
  c[fault_kind::asymmetric] = 1;
  c[fault_kind::crash] = 5;
  EXPECT_EQ(c.summary(), " asymmetric 1, crash 5, torn_write 2");
  fault_counts sum;
  sum += c;
  sum += c;
  EXPECT_EQ(sum[fault_kind::crash], 10u);
}

// Options a command line can get wrong are refused with the option and
// the value named.
TEST(Dst, ValidateNamesTheOptionAndTheValue) {
  options o;
  EXPECT_TRUE(validate(o).ok());
  o.persistence = "per_txx";
  EXPECT_EQ(validate(o).message(), "--persistence must be per_block or per_tx, not \"per_txx\"");
  o = options{};
  o.nodes = 0;
  EXPECT_NE(validate(o).message().find("--nodes"), std::string::npos);
  o = options{};
  o.empty_blocks = false;
  o.txs_per_submit = 0;
  EXPECT_EQ(validate(o).message(), "--no-empty-blocks with --txs-per-submit 0 cuts no block");
}

// The exact spec reads back as the same mix: a replay command injects the
// faults it was given, whichever way they were set.
TEST(Dst, FaultSpecReadsBackExactly) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const fault_mix m = swarm_faults(seed);
    const fault_mix back = faults(m.spec(true));
    EXPECT_EQ(back.spec(true), m.spec(true));
    EXPECT_EQ(back.crash_per_s, m.crash_per_s);
    EXPECT_EQ(back.loss, m.loss);
  }
  options o;
  o.swarm = false;
  o.faults.crash_per_s = 0.5;
  o.faults.isolate_leader_per_s = 1;
  EXPECT_NE(replay_command(o).find("--faults isolate_leader=1,crash=0.5"), std::string::npos)
      << replay_command(o);
}

// Sparse load without empty blocks: blocks come only with transactions,
// and the run still reaches its height after the heal.
TEST(Dst, SparseLoadWithoutEmptyBlocksCommitsEverySubmit) {
  options o = base(5, 30);
  o.swarm = false;
  o.empty_blocks = false;
  o.submit_interval_ms = 1000;
  const result r = run(o);
  ASSERT_TRUE(r.ok) << r.violation;
  EXPECT_GE(r.height, 30u);
  // One block a second, not one a round.
  EXPECT_GT(r.simulated_s, 30.0);
  EXPECT_GE(r.acked_txs, 4u * 29);
  const std::string replay = replay_command(o);
  EXPECT_NE(replay.find("--no-empty-blocks"), std::string::npos) << replay;
  EXPECT_NE(replay.find("--submit-every-ms 1000"), std::string::npos) << replay;
}

// A corrupted record in a crashed node's log: recovery refuses it, the node
// stays down, and the rest of the cluster carries on.
TEST(Dst, CorruptedLogIsRefusedAndTheClusterCarriesOn) {
  int corrupted = 0;
  for (std::uint64_t seed = 1; seed <= 20 && corrupted == 0; ++seed) {
    options o = base(seed);
    o.swarm = false;
    o.faults = faults("crash");
    o.faults.crash_per_s = 1;
    o.faults.corrupt = 1;
    const result r = run(o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.violation;
    if (r.injected[fault_kind::corrupt] > 0) ++corrupted;
  }
  EXPECT_GT(corrupted, 0);
}

// Failed barriers and full disks stop the node (it acknowledges nothing
// more); it restarts from its durable log. 120 blocks: long enough for
// several faults at these rates (the block store's writes changed the
// schedule, and 60 blocks then saw only two).
// Replacements under crashes, partitions and leader isolation: spares join
// as learners, are promoted, voters (the leader too) are removed, and every
// checker, the membership checker included, stays quiet.
TEST(Dst, NodesAreReplacedUnderFaults) {
  std::uint64_t replaced = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    options o = base(seed, 150);
    o.swarm = false;
    o.faults = faults("membership=1,crash=0.3,partition=0.3,isolate_leader=0.2");
    const result r = run(o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.violation;
    EXPECT_GE(r.height, 150u);
    replaced += r.injected[fault_kind::membership];
  }
  // Two spares per run: at most 40 replacements, most of them done.
  EXPECT_GE(replaced, 20u);
}

// A write on a shared disk takes what calibration measured with as many
// writers at once as are writing: per_tx nodes whose disk is 3 times
// slower with two or three writers commit less than on one whose
// latency does not grow, and as much when the profiles are the same.
TEST(Dst, ASharedDiskTakesTheLatencyOfItsWritersAtOnce) {
  const disk_profile fast = find_disk_profile("consumer_ssd").value();
  disk_profile slow = fast;
  slow.by_size = {{512, {fast.barrier.p50_us * 3, fast.barrier.p99_us * 3}}};
  slow.barrier = slow.by_size.front().write;
  std::uint64_t acked[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    options o = base(5, 1000);
    o.swarm = false;
    o.persistence = "per_tx";
    o.disk = fast;
    o.txs_per_submit = 16;
    o.run_for_s = 10;
    if (i == 1) o.shared_disk = {fast, fast, fast};
    if (i == 2) o.shared_disk = {fast, slow, slow};
    const result r = run(o);
    ASSERT_TRUE(r.ok) << r.violation;
    acked[i] = r.acked_txs;
  }
  EXPECT_EQ(acked[1], acked[0]) << "the same latency at every count";
  EXPECT_LT(acked[2], acked[0] * 9 / 10)
      << "slower together " << acked[2] << ", alone " << acked[0];
}

// On a shared machine of one core, a node's event waits while another
// node's work holds the core, and a signature check waits for it too; with
// cores of their own, neither waits.
TEST(Dst, NodesOnASharedMachineWaitForACore) {
  event_queue q(2);
  cpu_profile p;
  p.cores = 1;
  p.verify_us = 100;
  rng r(1);
  for (bool shared : {false, true}) {
    sim_cpu cpu(q, 2, p);
    if (shared) cpu.share_host(1);
    ASSERT_EQ(cpu.ready_at(0, 0, r), 0);
    cpu.spend(0, 500'000);  // node 0's event: 0.5 ms of CPU
    cpu.settle(0);
    EXPECT_EQ(cpu.ready_at(1, 0, r), shared ? 500'000 : 0) << (shared ? "shared" : "own cores");
    EXPECT_EQ(cpu.verify_ns(1, 1), shared ? 600'000 : 100'000) << (shared ? "shared" : "own cores");
  }
}

// An offered load that is not a whole number of transactions a
// submission is kept on average: 937 tx/s in 10 ms submissions acks about
// 937 a second, where 9 a submission (the rounded count) acks 900.
TEST(Dst, TheClientKeepsAFractionalRateOnAverage) {
  std::uint64_t acked[2] = {0, 0};
  for (int exact = 0; exact < 2; ++exact) {
    options o = base(3, 1000);
    o.swarm = false;
    o.submit_interval_ms = 10;
    o.txs_per_submit = exact ? 10 : 9;
    o.submit_tps = exact ? 937 : 0;
    o.run_for_s = 10;
    const result r = run(o);
    ASSERT_TRUE(r.ok) << r.violation;
    acked[exact] = r.acked_txs;
  }
  EXPECT_NEAR(static_cast<double>(acked[1]) / static_cast<double>(acked[0]), 937.0 / 900, 0.01)
      << "at 937 tx/s " << acked[1] << ", at 9 a submission " << acked[0];
}

TEST(Dst, DiskErrorsStopTheNodeAndItRecovers) {
  options o = base(11, 120);
  o.swarm = false;
  o.faults = faults("barrier_error,disk_full");
  o.faults.barrier_error_per_s = o.faults.disk_full_per_s = 0.5;
  const result r = run(o);
  ASSERT_TRUE(r.ok) << r.violation;
  EXPECT_GT(r.injected[fault_kind::barrier_error] + r.injected[fault_kind::disk_full], 2u);
}

struct planted {
  core::planted_bug bug;
  std::size_t nodes;
  std::uint64_t seeds;      // caught within this many seeds
  const char* violation;    // what the checker says
  const char* faults = "";  // empty: each seed's swarm mix
  // Sparse load (a submit a second) and no empty blocks: a new leader then
  // appends nothing of its own term for a while.
  bool sparse = false;
  std::uint64_t blocks = 200;
};

// Names the case in test output instead of its bytes.
void PrintTo(const planted& p, std::ostream* os) {
  *os << core::to_string(p.bug);
}

class PlantedBug : public ::testing::TestWithParam<planted> {};

TEST_P(PlantedBug, IsCaught) {
  if (!core::planted_bugs_built) GTEST_SKIP() << "built without -DRINGCHAIN_PLANTED_BUGS=ON";
  const planted& p = GetParam();
  std::string found;
  std::uint64_t seed = 1;
  for (; seed <= p.seeds && found.empty(); ++seed) {
    options o = base(seed, p.blocks);
    o.nodes = p.nodes;
    o.bug = p.bug;
    if (*p.faults != '\0') {
      o.swarm = false;
      o.faults = faults(p.faults);
    }
    if (p.sparse) {
      o.empty_blocks = false;
      o.submit_interval_ms = 1000;
    }
    const result r = run(o);
    if (!r.ok) found = r.violation;
  }
  ASSERT_FALSE(found.empty()) << core::to_string(p.bug) << " not caught in " << p.seeds << " seeds";
  EXPECT_NE(found.find(p.violation), std::string::npos)
      << core::to_string(p.bug) << " caught by another checker: " << found;
}

// Each checker with a bug it must catch.
INSTANTIATE_TEST_SUITE_P(
    Checkers, PlantedBug,
    ::testing::Values(
        planted{core::planted_bug::vote_twice, 3, 40, "two leaders in term"},
        planted{core::planted_bug::skip_prev_check, 3, 60, "log matching"},
        planted{core::planted_bug::vote_without_log_check, 3, 20, "is missing from node"},
        planted{core::planted_bug::diverge_state, 3, 5, "state hashes differ"},
        planted{core::planted_bug::ack_before_commit, 3, 20, "acknowledged"},
        planted{core::planted_bug::ack_before_durable, 3, 5, "durable"},
        planted{core::planted_bug::no_campaign_after_restart, 3, 20, "liveness"},
        // A snapshot without the nonces, consistent with itself: a node
        // that restarts from it, or installs it, holds another state.
        planted{core::planted_bug::snapshot_drops_nonces, 3, 10, "restored from a snapshot"},
        // A leader lets a second membership change in while the first is
        // in flight: its result misses the first change.
        planted{core::planted_bug::conf_changes_at_once, 3, 5, "two changes were in flight",
                "membership=1"},
        // Raft Figure 8: a leader commits an earlier term's entry by
        // counting replicas, crashes before appending one of its own, and
        // a node holding a later term's entry there wins and replaces it.
        // It needs two leaders to lose unreplicated entries in a row:
        // frequent isolation and crashes, and idle leaders.
        planted{core::planted_bug::commit_stale_term, 3, 20, "committed entry",
                "isolate_leader=1,crash=0.5", true, 100}),
    [](const auto& p) { return std::string(core::to_string(p.param.bug)); });

// Seeds that found bugs, pinned: each replays the run that showed one.
struct regression {
  std::uint64_t seed;
  std::size_t nodes;
  const char* what;
  const char* faults = "";  // empty: the seed's swarm mix
  core::planted_bug bug = core::planted_bug::none;
  // The seeds below were found before nodes took snapshots: they replay
  // their runs with snapshots too far apart to happen (the schedule is
  // then the one that found the bug). Seeds found since name their own.
  std::uint32_t snapshot_every = 1000;
};

void PrintTo(const regression& g, std::ostream* os) {
  *os << g.what;
}

class RegressionSeed : public ::testing::TestWithParam<regression> {};

TEST_P(RegressionSeed, Passes) {
  const regression& g = GetParam();
  if (g.bug != core::planted_bug::none && !core::planted_bugs_built)
    GTEST_SKIP() << "built without -DRINGCHAIN_PLANTED_BUGS=ON";
  options o = base(g.seed, 200);
  o.nodes = g.nodes;
  o.bug = g.bug;
  o.snapshot_interval_blocks = g.snapshot_every;
  if (*g.faults != '\0') {
    o.swarm = false;
    o.faults = faults(g.faults);
  }
  const result r = run(o);
  EXPECT_TRUE(r.ok) << GetParam().what << ": " << r.violation;
}

INSTANTIATE_TEST_SUITE_P(Found, RegressionSeed,
                         ::testing::Values(
                             // Timer callbacks did not run the node's Ready loop: messages made
                             // on a tick waited for the next delivery, and two nodes split every
                             // vote for 20 s.
                             regression{19, 3, "split votes after timer callbacks"},
                             regression{39, 3, "split votes after timer callbacks"},
                             // An acknowledgement made in an earlier term left after a new
                             // leader replaced its entries; the durability check now judges
                             // acknowledgements of the current term only.
                             regression{35, 5, "stale-term acknowledgement"},
                             // Two leaders cut blocks with one sender's nonces in opposite
                             // orders; the later block committed and every node stopped on
                             // "nonce does not rise". Stale transactions are now skipped.
                             regression{1078, 3, "committed block with a stale nonce"},
                             regression{1206, 3, "committed block with a stale nonce"},
                             // A node won an old term from a node that never heard of a later
                             // one; the completeness check now applies to entries committed in
                             // earlier terms only.
                             regression{1539, 3, "leader of an older term than a commit"},
                             regression{2401, 3, "leader of an older term than a commit"},
                             // A write ending 2 bytes before a page boundary: recovery read the
                             // short gap as a damaged record and refused to restart the node
                             // (found while searching for the stale-term bug; the run passes
                             // now unless that bug shows).
                             regression{444, 5, "short alignment gap in recovery",
                                        "crash,torn_write,isolate_leader,partition",
                                        core::planted_bug::commit_stale_term}),
                         [](const auto& p) {
                           return "seed" + std::to_string(p.param.seed) + "_" +
                                  std::to_string(p.param.nodes) + "nodes";
                         });

// A run killed before it removed its files leaves them in the work
// directory (in /dev/shm: memory, until the machine restarts); the next run
// removes them, unless their process is alive or they were kept on purpose.
TEST(Dst, RunsLeftByAProcessThatIsGoneAreRemoved) {
  const auto dir = std::filesystem::temp_directory_path() / "ringchain-dst-tests" /
                   ("orphans-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  // Our parent runs (ctest or a shell): its PID is alive and not ours.
  const std::string gone = std::to_string(child), alive = std::to_string(::getppid());
  for (const std::string& name : {"seed-3-" + gone + "-0", "seed-3-" + gone + "-1",
                                  "seed-3-" + alive + "-0", std::string("notes")}) {
    std::filesystem::create_directories(dir / name / "node1");
    std::ofstream(dir / name / "node1" / "block-0.log") << "x";
  }
  std::ofstream(dir / ("seed-3-" + gone + "-1") / "kept");
  EXPECT_EQ(remove_orphaned_runs(dir), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir / ("seed-3-" + gone + "-0")));
  EXPECT_TRUE(std::filesystem::exists(dir / ("seed-3-" + gone + "-1"))) << "kept on purpose";
  EXPECT_TRUE(std::filesystem::exists(dir / ("seed-3-" + alive + "-0"))) << "its process runs";
  EXPECT_TRUE(std::filesystem::exists(dir / "notes")) << "not a run's";
  std::filesystem::remove_all(dir);
}

// A profile's disk as checked again: each sample scaled by the check's
// ratio for its writer count (interpolated between counts checked) at the
// size checked nearest; the node costs stay; the checks are kept as the
// profile file holds them.
TEST(Dst, AProfilesDiskTakesTheDiskAsCheckedNow) {
  machine_profile m;
  m.disk = {{"uring", 1, 512, 100, 110, 120, 105, std::vector<double>(quantile_count, 100.0)},
            {"uring", 1, 65536, 200, 0, 0, 200, {}},
            {"uring", 1, 131072, 250, 0, 0, 250, {}},
            {"uring", 3, 512, 300, 0, 0, 300, {}},
            {"uring", 3, 65536, 400, 0, 0, 400, {}},
            {"epoll", 2, 512, 120, 0, 0, 120, {}}};
  node_costs n;
  n.write_us = 170;
  n.leader_write_us = 500;
  n.part_us = 40;
  m.node = {n};
  const std::vector<disk_sample> now = {{"uring", 1, 512, 150, 0, 0, 0, {}},
                                        {"uring", 1, 65536, 100, 0, 0, 0, {}},
                                        {"uring", 3, 512, 600, 0, 0, 0, {}},
                                        {"uring", 3, 65536, 400, 0, 0, 0, {}}};
  EXPECT_DOUBLE_EQ(disk_factor(m, now, 1, 512), 1.5);
  EXPECT_DOUBLE_EQ(disk_factor(m, now, 1, 4096), 1.5) << "512 is nearer 4096 on a log scale";
  EXPECT_DOUBLE_EQ(disk_factor(m, now, 1, 131072), 0.5);
  EXPECT_DOUBLE_EQ(disk_factor(m, now, 3, 512), 2);
  EXPECT_DOUBLE_EQ(disk_factor(m, now, 8, 512), 2) << "beyond the counts checked: the nearest";
  const double t = std::log(2.0) / std::log(3.0);
  EXPECT_NEAR(disk_factor(m, now, 2, 512), std::pow(1.5, 1 - t) * std::pow(2.0, t), 1e-12);
  const machine_profile scaled = with_disk_now(m, now);
  ASSERT_EQ(scaled.disk.size(), m.disk.size());
  EXPECT_DOUBLE_EQ(scaled.disk[0].p50_us, 150);
  EXPECT_DOUBLE_EQ(scaled.disk[0].p99_us, 180);
  EXPECT_DOUBLE_EQ(scaled.disk[0].mean_us, 157.5);
  EXPECT_DOUBLE_EQ(scaled.disk[0].quantiles_us[5], 150);
  EXPECT_DOUBLE_EQ(scaled.disk[2].p50_us, 125);
  EXPECT_DOUBLE_EQ(scaled.disk[4].p50_us, 400);
  EXPECT_NEAR(scaled.disk[5].p50_us, 120 * std::pow(1.5, 1 - t) * std::pow(2.0, t), 1e-9)
      << "the other backend's disk takes io_uring's check";
  const node_costs& c = scaled.node_for("uring");
  EXPECT_DOUBLE_EQ(c.write_us, 170);
  EXPECT_DOUBLE_EQ(c.leader_write_us, 500);
  EXPECT_DOUBLE_EQ(c.part_us, 40);
  // The checks are kept as the file writes them, and the profile read
  // back from its file scales alike.
  const std::vector<disk_sample> fine = {{"uring", 1, 65536, 100.00049, 0, 0, 0, {}}};
  const machine_profile rounded = with_disk_now(m, fine);
  ASSERT_EQ(rounded.disk_checked.size(), 1u);
  EXPECT_DOUBLE_EQ(rounded.disk_checked[0].p50_us, 100.0);
  EXPECT_DOUBLE_EQ(rounded.disk[1].p50_us, 100.0);
  // A check that matches nothing in the profile changes nothing.
  const std::vector<disk_sample> unmatched = {{"uring", 2, 512, 900, 0, 0, 0, {}}};
  EXPECT_DOUBLE_EQ(disk_factor(m, unmatched, 1, 512), 1);
  EXPECT_DOUBLE_EQ(with_disk_now(m, unmatched).disk[3].p50_us, 300);
}

// The least a profile file holds (2 cores, one disk measurement), for node
// costs to be added to.
machine_profile smallest_profile() {
  machine_profile m;
  m.name = "probe";
  m.cpu.cores = 2;
  m.cpu.wakeup.quantiles_us.assign(quantile_count, 5.0);
  m.disk = {{"uring", 1, 65536, 90, 95, 99, 91, std::vector<double>(quantile_count, 90.0)}};
  return m;
}

// A profile's node costs survive its file, by backend; a backend the probe
// did not run has none, and a bad backend is refused with the key named.
TEST(Dst, NodeCostsRoundTripThroughTheProfileFile) {
  machine_profile m = smallest_profile();
  node_costs n;
  n.io = "epoll";
  n.blocks = 60;
  n.build_us = 97.5;
  n.build_tx_us = 2.75;
  n.write_us = 170;
  n.write_load_us = 120;
  n.leader_write_us = 340;
  n.leader_write_kib_us = 1.5;
  n.leader_write_load_us = 250;
  n.part_us = 61.5;
  n.apply_tx_us = 4.125;
  n.message_us = 300;
  n.message_kib_us = 6;
  m.node = {n};
  const auto back = parse_machine(to_toml(m));
  ASSERT_TRUE(back.ok()) << back.message();
  const node_costs epoll = back->node_for("epoll");
  EXPECT_TRUE(epoll.on());
  EXPECT_EQ(epoll.blocks, 60u);
  EXPECT_DOUBLE_EQ(epoll.build_us, 97.5);
  EXPECT_DOUBLE_EQ(epoll.build_tx_us, 2.75);
  EXPECT_DOUBLE_EQ(epoll.write_us, 170);
  EXPECT_DOUBLE_EQ(epoll.part_us, 61.5);
  const auto line_of = [](const node_costs::line& l) {
    return std::make_tuple(l.at_zero, l.per_kib, l.per_load);
  };
  EXPECT_EQ(line_of(epoll.write_line(true)), std::make_tuple(340.0, 1.5, 250.0));
  EXPECT_EQ(line_of(epoll.write_line(false)), std::make_tuple(170.0, 0.0, 120.0));
  EXPECT_DOUBLE_EQ(epoll.apply_tx_us, 4.125);
  EXPECT_DOUBLE_EQ(epoll.message_us, 300);
  EXPECT_DOUBLE_EQ(epoll.message_kib_us, 6);
  EXPECT_FALSE(back->node_for("uring").on());
  // A profile from before part_us, the leader's write line and the load
  // terms loads, with no part cost, the leader taking the followers' line.
  std::string older = to_toml(m);
  for (const std::string key : {"leader_write_us", "leader_write_kib_us", "leader_write_load_us",
                                "write_load_us", "part_us"}) {
    const std::size_t at = older.find(key + " =");
    ASSERT_NE(at, std::string::npos) << key;
    older.erase(at, older.find('\n', at) - at);
  }
  const auto old_profile = parse_machine(older);
  ASSERT_TRUE(old_profile.ok()) << old_profile.message();
  EXPECT_DOUBLE_EQ(old_profile->node_for("epoll").part_us, 0);
  EXPECT_EQ(line_of(old_profile->node_for("epoll").write_line(true)),
            std::make_tuple(170.0, 0.0, 0.0));
  EXPECT_DOUBLE_EQ(old_profile->node_for("epoll").write_us, 170);
  std::string bad = to_toml(m);
  bad.replace(bad.find("io = \"epoll\""), 12, "io = \"poll\"");
  EXPECT_EQ(parse_machine(bad).message(), "node.io: must be uring or epoll");
}

// A validation cell's profile keeps the disk checks it was scaled to
// through its file, and made again from them (validate --again) it is the
// same profile; calibrated profiles hold none.
TEST(Dst, ACellsDiskChecksRoundTripThroughItsProfileFile) {
  const machine_profile m = smallest_profile();
  EXPECT_TRUE(parse_machine(to_toml(m))->disk_checked.empty());
  std::vector<disk_sample> now = m.disk;
  for (disk_sample& d : now) d.p50_us *= 1.2345678;
  const machine_profile cell = with_disk_now(m, now);
  const auto back = parse_machine(to_toml(cell));
  ASSERT_TRUE(back.ok()) << back.message();
  ASSERT_EQ(back->disk_checked.size(), now.size());
  EXPECT_EQ(back->disk_checked[0].p50_us, cell.disk_checked[0].p50_us);
  EXPECT_EQ(to_toml(with_disk_now(m, back->disk_checked)), to_toml(cell));
  std::string bad = to_toml(cell);
  bad.replace(bad.find("[[disk_checked]]\nio = \"uring\""), 29, "[[disk_checked]]\nio = \"disk\"");
  EXPECT_EQ(parse_machine(bad).message(), "disk_checked: disk.io: must be uring or epoll");
}

// A write line's spread survives the profile file; a spread of the wrong
// length is refused with its key named.
TEST(Dst, AWriteSpreadRoundTripsThroughTheProfileFile) {
  machine_profile m = smallest_profile();
  node_costs n;
  n.blocks = 60;
  n.write_us = 900;
  for (std::size_t i = 0; i < quantile_count; ++i) {
    n.write_spread.push_back(0.5 + quantile_points[i]);
  }
  n.leader_write_spread.assign(quantile_count, 1.0);
  m.node = {n};
  const auto back = parse_machine(to_toml(m));
  ASSERT_TRUE(back.ok()) << back.message();
  const node_costs uring = back->node_for("uring");
  ASSERT_EQ(uring.write_spread.size(), quantile_count);
  for (std::size_t i = 0; i < quantile_count; ++i) {
    EXPECT_NEAR(uring.write_spread[i], n.write_spread[i], 1e-3) << i;
  }
  EXPECT_EQ(uring.leader_write_spread, n.leader_write_spread);
  m.node[0].write_spread.pop_back();
  EXPECT_EQ(
      parse_machine(to_toml(m)).message(),
      "node.write_spread: expected " + std::to_string(quantile_count) + " non-decreasing ratios");
}

// A write line with a spread: each write takes the line's time times a
// draw from the spread (here uniform from 0.5 to 1.5), not the line's
// time always.
TEST(Dst, AWriteTakesItsLineTimesADrawFromItsSpread) {
  event_queue q(1);
  cpu_profile p;
  p.cores = 2;
  p.node.blocks = 1;
  p.node.write_us = 1000;
  rng r(7);
  EXPECT_EQ(sim_cpu(q, 1, p).write_extra_ns(0, 4096, r), 1'000'000u) << "no spread: the line";
  for (std::size_t i = 0; i < quantile_count; ++i) {
    p.node.write_spread.push_back(0.5 + quantile_points[i]);
  }
  const sim_cpu spread(q, 1, p);
  std::vector<double> us;
  for (int i = 0; i < 4000; ++i) {
    us.push_back(static_cast<double>(spread.write_extra_ns(0, 4096, r)) / 1000.0);
  }
  EXPECT_NEAR(report::percentile(us, 10), 600, 30);
  EXPECT_NEAR(report::percentile(us, 50), 1000, 30);
  EXPECT_NEAR(report::percentile(us, 90), 1400, 30);
  EXPECT_GE(*std::min_element(us.begin(), us.end()), 500);
  EXPECT_LE(*std::max_element(us.begin(), us.end()), 1500);
}

// With node costs, a message takes the node's fitted figure, as latency:
// the loop is charged the per-function figure, and the rest of the fitted
// line is the message's time in transit.
TEST(Dst, NodeCostsPriceMessagesAsTransit) {
  event_queue q(1);
  cpu_profile p;
  p.cores = 1;
  p.message_us = 2;
  core::message m;
  m.set_type(raftpb::MSG_HEARTBEAT);
  sim_cpu plain(q, 1, p);
  plain.sent(0, m);
  p.node.blocks = 1;
  p.node.message_us = 200;
  sim_cpu fitted(q, 1, p);
  fitted.sent(0, m);
  EXPECT_NEAR(static_cast<double>(plain.use(0).loop_ns), 1'000, 50) << "half of 2 us";
  EXPECT_NEAR(static_cast<double>(fitted.use(0).loop_ns), 1'000, 50) << "half of 2 us";
  EXPECT_EQ(plain.message_transit_ns(0), 0u);
  EXPECT_NEAR(static_cast<double>(fitted.message_transit_ns(0)), 198'000, 50)
      << "200 us less the 2 us the loops are charged";
  p.node.message_us = 1;
  EXPECT_EQ(sim_cpu(q, 1, p).message_transit_ns(0), 0u) << "never below the loops' share";
}

// A scratch directory `name` for a test's simulated runs, made now.
std::filesystem::path scratch_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "ringchain-dst-tests" / name;
  std::filesystem::create_directories(dir);
  return dir;
}

// Writes `m` as machine-<k>.toml in `dir`; the file's path, for a cell's
// machine.
std::string write_profile(const machine_profile& m, const std::filesystem::path& dir, int k) {
  const auto file = dir / ("machine-" + std::to_string(k) + ".toml");
  std::ofstream(file) << to_toml(m);
  return file;
}

// A 3-node cell on the calibrated machine `machine`, labelled as
// experiments label it.
harness::cell machine_cell(const std::string& io, const std::string& persistence,
                           std::uint32_t rate_tps, const std::string& machine) {
  harness::cell c;
  c.nodes = 3;
  c.io = io;
  c.persistence = persistence;
  c.rate_tps = rate_tps;
  c.machine = machine;
  c.label = "io=" + io + (persistence == "per_block" ? "" : " persistence=" + persistence);
  return c;
}

// The quickstart's epoll per_tx cell at 4,000 tx/s (overloaded), on
// `machine`, runs through validate's seed `seed` (2001: the first of its
// third run) without a checker firing, and commits more than `blocks`
// blocks.
void expect_overloaded_epoll_per_tx_runs(const std::string& machine, const std::string& name,
                                         std::uint64_t seed = 2001, std::size_t blocks = 10) {
  spdlog::set_level(spdlog::level::off);
  const auto dir = std::filesystem::temp_directory_path() / "ringchain-dst-tests" / name;
  const report::cell_report r =
      run_cell(machine_cell("epoll", "per_tx", 4000, machine), {1, 4, seed, true}, dir);
  EXPECT_EQ(r.error, "");
  EXPECT_GT(r.blocks.size(), blocks);
  std::filesystem::remove_all(dir);
}

// A node shut down while it exports a snapshot ends the export before its
// ledger goes. It once ended it after, on a destroyed ledger: a double free
// at the end of this cell (a validate run of the quickstart's epoll per_tx
// cell, with a calibrated profile, whose loaded nodes stop mid-export).
TEST(Dst, ANodeStoppedDuringASnapshotExportShutsDownCleanly) {
  expect_overloaded_epoll_per_tx_runs(RINGCHAIN_TESTDATA "/machine-with-node-costs.toml", "export");
}

// An overloaded epoll per_tx cluster (the quickstart's cell at 4,000 tx/s,
// validate's third run, with the disk as checked then) commits entries and
// compacts them into a snapshot within the 100 ms between an experiment's
// checks: the final check once found a gap in the committed chain it
// replays ("block height does not follow the chain"). Nodes are now checked
// whenever their commit index moves.
TEST(Dst, ANodeCompactingBetweenChecksIsCheckedAtItsCommit) {
  expect_overloaded_epoll_per_tx_runs(RINGCHAIN_TESTDATA "/machine-overloaded-epoll.toml",
                                      "compacting");
}

// A follower that installs a snapshot between two of the simulated CPU's
// looks at it (the same overloaded cell, validate's first seed, another
// day's profile) is charged nothing for the entries the snapshot stands
// for. The CPU once read them from the follower's log, where they no
// longer are: an assertion in raft_log::at stopped the simulation. (This
// profile's cluster commits only a few blocks in the window: the
// simulator's overloaded epoll per_tx leader is far slower than the
// measured one, a known gap of the model.)
TEST(Dst, AFollowerInstallingASnapshotIsNotChargedForItsEntries) {
  expect_overloaded_epoll_per_tx_runs(RINGCHAIN_TESTDATA "/machine-snapshot-install.toml",
                                      "snapshot-install", 1, 0);
}

// With a simulated CPU, an io_uring node's per_tx write goes part by part
// through its loop, as the reactor hands the kernel one part at a time: a
// leader whose loop is busy with its clients' submissions (each
// transaction's decoding made 200 us) takes each next part up later, and
// its write takes longer.
TEST(Dst, AUringPerTxWriteWaitsForTheLoopBetweenParts) {
  spdlog::set_level(spdlog::level::off);
  const auto profile = load_machine(RINGCHAIN_TESTDATA "/machine-with-node-costs.toml");
  ASSERT_TRUE(profile.ok()) << profile.message();
  const auto dir = scratch_dir("parts");
  double leader_write_us[2] = {0, 0};
  for (int busy = 0; busy < 2; ++busy) {
    machine_profile m = *profile;
    if (busy) m.cpu.decode_us = 200;
    const std::string file = write_profile(m, dir, busy);
    const report::cell_report r = run_cell(machine_cell("uring", "per_tx", 1000, file),
                                           {1, 3, 7, true}, dir / std::to_string(busy));
    ASSERT_EQ(r.error, "");
    double sum = 0;
    std::uint64_t parts = 0;
    for (const report::block_record& b : r.blocks) {
      if (b.txs < 2 || b.barrier_done_us < b.write_submitted_us) continue;
      sum += static_cast<double>(b.barrier_done_us - b.write_submitted_us);
      parts += b.txs;
    }
    ASSERT_GT(parts, 1000u);
    leader_write_us[busy] = sum / static_cast<double>(parts);
  }
  EXPECT_GT(leader_write_us[1], leader_write_us[0] * 1.15)
      << "per part: busy loop " << leader_write_us[1] << " us, idle " << leader_write_us[0]
      << " us";
  std::filesystem::remove_all(dir);
}

// With the leader's own write line in the profile, the simulated leader's
// writes take it and the followers' keep theirs: the leader's write (its
// block log's write handed to storage until durable) grows by what its
// line adds, its followers' stay as they were.
TEST(Dst, TheLeadersWriteTakesItsOwnLine) {
  spdlog::set_level(spdlog::level::off);
  const auto profile = load_machine(RINGCHAIN_TESTDATA "/machine-with-node-costs.toml");
  ASSERT_TRUE(profile.ok()) << profile.message();
  const auto dir = scratch_dir("leader-line");
  double leader_us[2] = {0, 0}, follower_us[2] = {0, 0};
  for (int own = 0; own < 2; ++own) {
    machine_profile m = *profile;
    for (node_costs& n : m.node) {
      if (own) {
        n.leader_write_us = n.write_us + 3000;
        n.leader_write_kib_us = n.write_kib_us;
        n.leader_write_load_us = n.write_load_us;
      }
    }
    const std::string file = write_profile(m, dir, own);
    const report::cell_report r = run_cell(machine_cell("epoll", "per_block", 1000, file),
                                           {1, 3, 7, true}, dir / std::to_string(own));
    ASSERT_EQ(r.error, "");
    std::vector<double> leader, follower;
    for (const report::block_record& b : r.blocks) {
      if (b.txs == 0 || b.barrier_done_us < b.write_submitted_us) continue;
      leader.push_back(static_cast<double>(b.barrier_done_us - b.write_submitted_us));
      for (const auto& f : b.followers) {
        if (f.persist_us > 0) follower.push_back(static_cast<double>(f.persist_us));
      }
    }
    ASSERT_GT(leader.size(), 20u);
    ASSERT_GT(follower.size(), 40u);
    leader_us[own] = report::percentile(leader, 50);
    follower_us[own] = report::percentile(follower, 50);
  }
  // Within 15%: the two runs draw their disk latencies in a different
  // order once the leader's writes end later.
  EXPECT_NEAR(leader_us[1] - leader_us[0], 3000, 450)
      << "the leader's write p50: " << leader_us[0] << " us, then " << leader_us[1] << " us";
  EXPECT_NEAR(follower_us[1], follower_us[0], 0.1 * follower_us[0])
      << "the followers' write p50: " << follower_us[0] << " us, then " << follower_us[1] << " us";
  std::filesystem::remove_all(dir);
}

// A write line in load: the simulated followers' writes grow with the
// transactions the machine's nodes apply, by the line's per-load term at
// the load the run reaches (three nodes applying every transaction, on
// the profile's cores), and not without the term.
TEST(Dst, AWriteTakesLongerOnABusierMachine) {
  spdlog::set_level(spdlog::level::off);
  const auto profile = load_machine(RINGCHAIN_TESTDATA "/machine-with-node-costs.toml");
  ASSERT_TRUE(profile.ok()) << profile.message();
  const auto dir = scratch_dir("load-line");
  constexpr double per_load_us = 2000;
  // Follower write p50 by [with the term][rate].
  double follower_us[2][2] = {{0, 0}, {0, 0}};
  const std::uint32_t rates[2] = {200, 1200};
  for (int with_term = 0; with_term < 2; ++with_term) {
    machine_profile m = *profile;
    for (node_costs& n : m.node) {
      n.write_kib_us = 0;
      n.write_load_us = with_term ? per_load_us : 0;
    }
    const std::string file = write_profile(m, dir, with_term);
    for (int k = 0; k < 2; ++k) {
      const report::cell_report r =
          run_cell(machine_cell("epoll", "per_block", rates[k], file), {1, 3, 7, true},
                   dir / (std::to_string(with_term) + "-" + std::to_string(k)));
      ASSERT_EQ(r.error, "");
      std::vector<double> follower;
      for (const report::block_record& b : r.blocks) {
        for (const auto& f : b.followers) {
          if (b.txs > 0 && f.persist_us > 0) follower.push_back(static_cast<double>(f.persist_us));
        }
      }
      ASSERT_GT(follower.size(), 40u);
      follower_us[with_term][k] = report::percentile(follower, 50);
    }
  }
  // Load at each rate: 3 nodes x rate / 1000 / cores.
  const double cores = profile->cpu.cores;
  const double expected = per_load_us * 3 * (rates[1] - rates[0]) / 1000.0 / cores;
  const double growth_with = follower_us[1][1] - follower_us[1][0];
  const double growth_without = follower_us[0][1] - follower_us[0][0];
  EXPECT_NEAR(growth_with - growth_without, expected, 0.2 * expected)
      << "follower write p50 without the term " << follower_us[0][0] << " -> " << follower_us[0][1]
      << " us, with it " << follower_us[1][0] << " -> " << follower_us[1][1] << " us";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringchain::dst
