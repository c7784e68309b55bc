// The simulator's entry points: options checked, one seed run, and the
// command that replays it.
#include "sim/dst/dst.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include "node/base/limits.h"
#include "node/storage/block_log.h"
#include "sim/dst/world.h"

namespace ringchain::dst {

std::filesystem::path default_work_dir(double min_free_bytes) {
  struct statvfs st {};
  if (::access("/dev/shm", W_OK) == 0 && ::statvfs("/dev/shm", &st) == 0 &&
      static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize) > min_free_bytes) {
    return "/dev/shm/ringchain-dst";
  }
  return std::filesystem::temp_directory_path() / "ringchain-dst";
}

std::size_t remove_orphaned_runs(const std::filesystem::path& work_dir) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(work_dir, ec)) {
    const std::string name = e.path().filename().string();
    // seed-<seed>-<pid>-<n>
    if (name.rfind("seed-", 0) != 0) continue;
    const std::size_t pid_at = name.find('-', 5);
    if (pid_at == std::string::npos) continue;
    const std::string pid_text = name.substr(pid_at + 1, name.find('-', pid_at + 1) - pid_at - 1);
    char* end = nullptr;
    const long pid = std::strtol(pid_text.c_str(), &end, 10);
    if (pid_text.empty() || *end != '\0' || pid <= 0 || pid == ::getpid()) continue;
    // Alive (or someone else's, which we may not signal): not ours to take.
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code kept_ec;
    if (std::filesystem::exists(e.path() / "kept", kept_ec)) continue;
    std::error_code rm;
    std::filesystem::remove_all(e.path(), rm);
    if (!rm) ++removed;
  }
  return removed;
}

base::status validate(const options& o) {
  if (o.nodes < 1 || o.nodes > limits::sim_nodes_max) {
    return base::fail("--nodes must be in [1, " + std::to_string(limits::sim_nodes_max) + "]");
  }
  if (o.blocks == 0) return base::fail("--blocks must be at least 1");
  if (!o.shared_disk.empty() && o.shared_disk.size() > o.nodes) {
    return base::fail("a shared disk is described for at most one writer per node");
  }
  if (o.snapshot_interval_blocks == 0 ||
      o.snapshot_interval_blocks > limits::snapshot_interval_entries_max) {
    return base::fail("--snapshot-every must be in [1, " +
                      std::to_string(limits::snapshot_interval_entries_max) + "]");
  }
  if (!o.empty_blocks && o.txs_per_submit == 0) {
    return base::fail("--no-empty-blocks with --txs-per-submit 0 cuts no block");
  }
  if (o.io != "uring" && o.io != "epoll") {
    return base::fail("--io must be uring or epoll, not \"" + o.io + "\"");
  }
  storage::persistence p;
  if (!storage::parse_persistence(o.persistence, &p)) {
    return base::fail("--persistence must be per_block or per_tx, not \"" + o.persistence + "\"");
  }
  return {};
}

std::string replay_command(const options& o) {
  std::string cmd = "ringchain-sim dst --seed " + std::to_string(o.seed) + " --nodes " +
                    std::to_string(o.nodes) + " --blocks " + std::to_string(o.blocks);
  if (!o.swarm) cmd += " --faults " + o.faults.spec(true);
  if (!o.network.name.empty() && o.network.name != "same_rack")
    cmd += " --network " + o.network.name;
  if (!o.disk.name.empty()) cmd += " --disk " + o.disk.name;
  if (o.bug != core::planted_bug::none)
    cmd += std::string(" --plant-bug ") + core::to_string(o.bug);
  if (o.persistence != "per_block") cmd += " --persistence " + o.persistence;
  const options defaults;
  if (o.txs_per_submit != defaults.txs_per_submit)
    cmd += " --txs-per-submit " + std::to_string(o.txs_per_submit);
  if (o.submit_interval_ms != defaults.submit_interval_ms)
    cmd += " --submit-every-ms " + std::to_string(o.submit_interval_ms);
  if (!o.empty_blocks) cmd += " --no-empty-blocks";
  if (o.snapshot_interval_blocks != defaults.snapshot_interval_blocks)
    cmd += " --snapshot-every " + std::to_string(o.snapshot_interval_blocks);
  return cmd;
}

result run(const options& o) {
  world w(o);
  return w.run();
}

}  // namespace ringchain::dst
