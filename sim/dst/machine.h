// A machine profile: what `ringchain-sim calibrate` measured on one
// machine (CPU time per transaction of each kind of work, write + barrier
// latency on its data disk with 1 to N writers at once, loopback round
// trips and bandwidth), as a TOML file that experiments name
// (`machine = "FILE"`). With one, simulated nodes spend CPU time (see
// sim_cpu.h), and the cell's disk and network default to the measured
// ones.
//
// The file (written by to_toml, read by load_machine):
//
//   name = "dev-vm"
//   description = "..."
//   [cpu]
//   cores = 2
//   tx_bytes = 256
//   verify_us = 181.0     # per transaction, one core
//   sha256_us = 1.2       # ...
//   merkle_us, encode_us, decode_us, apply_us, message_us, message_kib_us
//   stretch = 1.4
//   wakeup_quantiles_us = [...]  # at model.h's quantile_points
//   [network]
//   rtt_p50_us = 40.0
//   rtt_p99_us = 120.0
//   gbit_per_s = 20.0
//   [[disk]]              # one per (io, writers, bytes) measured
//   io = "uring"
//   writers = 1
//   bytes = 4096
//   p50_us, p90_us, p99_us, mean_us
//   quantiles_us = [...]  # at model.h's quantile_points
//   [[node]]              # optional: one per io backend (node_costs)
//   io = "uring"
//   blocks = 120
//   build_us, build_tx_us, write_us, write_kib_us, apply_us, apply_tx_us,
//   message_us, message_kib_us
//   [[disk_checked]]      # optional, as [[disk]]: a validation cell's checks
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "node/base/result.h"
#include "sim/dst/model.h"

namespace ringchain::dst {

// What the node's own phases cost on this machine, fitted from a cluster
// of its processes (calibrate's node probe, sim/calibrate/node_probe.h),
// for one io backend: what the per-function CPU figures leave out
// (allocations, copies, cache misses, TLS, the kernel's socket path, a
// timer's lateness). Each is a line: per block plus per transaction (per
// write plus per KiB for writes, per message plus per KiB for messages),
// in microseconds.
struct node_costs {
  // The backend the probe ran: "uring" or "epoll".
  std::string io = "uring";
  // Blocks the fit drew on (0: no node costs; the CPU figures apply).
  std::uint32_t blocks = 0;
  // The leader's build: its round's start until its write is handed to
  // storage (the budget's build phase).
  double build_us = 0, build_tx_us = 0;
  // A log write's time beyond the disk's: a follower's write + barrier,
  // from the write handed to its block log until durable, less the
  // disk's write + fdatasync for that size (queueing behind the loop's
  // other work, the reactor's submission, io_uring's worker threads),
  // per write, per KiB, and per unit of the machine's load (thousands of
  // transactions applied per second by its nodes, per core: the wait
  // for a core grows with it). The node probe fits the load term;
  // profiles before it have the per-KiB one.
  double write_us = 0, write_kib_us = 0, write_load_us = 0;
  // The leader's own log write, as the write line: from its write handed
  // to storage until durable, less the disk's with one writer. It takes
  // about twice a follower's on this machine (its loop sends the block
  // to every follower and answers clients while it writes). All 0: not
  // measured (profiles before it), and the leader takes the followers'
  // line.
  double leader_write_us = 0, leader_write_kib_us = 0, leader_write_load_us = 0;
  // How a write's time beyond the disk's varies about its line: at each
  // of model.h's quantile_points, that time over its run's median (the
  // followers' writes and the leader's; the node probe holds the 90th
  // percentile's ratio above it, node_probe.h). Empty: every write takes its
  // line's time (profiles before it). It also holds the disk's own
  // variation about its p50, which the simulator draws again from the
  // disk's distribution: small beside the node's time on this machine
  // (0.3 ms of disk in a follower's write of 1 to 2.5 ms).
  std::vector<double> write_spread, leader_write_spread;
  // A write line (see write_us).
  struct line {
    // Microseconds per write, per KiB, and per unit of load.
    double at_zero = 0, per_kib = 0, per_load = 0;
    // Its spread (write_spread).
    const std::vector<double>* spread = nullptr;
  };
  // The write line of a node's write, by its role: the leader's when
  // measured.
  line write_line(bool leader) const {
    if (leader && (leader_write_us > 0 || leader_write_kib_us > 0 || leader_write_load_us > 0)) {
      return {leader_write_us, leader_write_kib_us, leader_write_load_us,
              leader_write_spread.empty() ? &write_spread : &leader_write_spread};
    }
    return {write_us, write_kib_us, write_load_us, &write_spread};
  }
  // A per_tx write's time per part (each part a write and a barrier)
  // beyond the write line and its parts' disk time: the system calls,
  // and waiting on the file system's journal with other writers (0 when
  // not measured; profiles before it lack it).
  double part_us = 0;
  // The apply: commit until applied to the ledger.
  double apply_us = 0, apply_tx_us = 0;
  // A consensus message, sender and receiver together (the network phase
  // less the loopback round trip and the bytes' time on the wire, over an
  // append and its acknowledgement), and per KiB of it.
  double message_us = 0, message_kib_us = 0;
  // Whether there are node costs.
  bool on() const { return blocks > 0; }
};

// CPU time of the work a node does, measured on one core for
// transactions of tx_bytes. A profile with cores == 0 simulates no CPU
// time (the simulator's default).
struct cpu_profile {
  // Cores of each simulated node: its reactor loop takes one, its
  // signature checks the others (node_config::verify_threads). 0: off.
  std::uint32_t cores = 0;
  // The size of the transactions the figures were measured with.
  std::uint32_t tx_bytes = 256;
  // Microseconds per transaction: an Ed25519 signature check; its hash
  // (SHA-256 of the signing bytes and the signature); the Merkle tree's
  // inner hashes, per leaf; a block's protobuf encoding and decoding; the
  // ledger's apply (key-value write, nonce, state hash).
  double verify_us = 0, sha256_us = 0, merkle_us = 0, encode_us = 0, decode_us = 0, apply_us = 0;
  // Microseconds per consensus message, sender and receiver together:
  // encoding, decoding, and a send and a receive on a socket; and per KiB
  // of a message (its entries' bytes copied in and out of the frame).
  double message_us = 0, message_kib_us = 0;
  // What other load on the machine did to a thread's time: a sleeping
  // thread woken (a socket's data, a completion) runs after `wakeup`, and
  // a short burst of work then takes `stretch` times its CPU time.
  latency wakeup;
  // How many times its CPU time a short burst of work takes (at least 1).
  double stretch = 1;
  // The node's own phases for the cell's io backend, when calibration
  // measured them: they replace the per-function figures for building,
  // checking an append, applying and messages, and add to every write.
  node_costs node;
  // Whether CPU time is simulated.
  bool on() const { return cores > 0; }
};

// One disk measurement: `writers` threads at once, each writing `bytes`
// then fdatasync through a reactor of `io`, again and again; the latency
// of one write + barrier.
struct disk_sample {
  // The reactor backend that wrote: "uring" or "epoll".
  std::string io = "uring";
  // Threads writing at once (each to its own file).
  std::uint32_t writers = 1;
  // Bytes of each write.
  std::uint64_t bytes = 0;
  // Latency percentiles and mean of write + fdatasync, microseconds.
  double p50_us = 0, p90_us = 0, p99_us = 0, mean_us = 0;
  // The latency at each of quantile_points (model.h): what the simulator
  // draws from.
  std::vector<double> quantiles_us;
};

// A calibrated machine.
struct machine_profile {
  // What experiments and reports call it.
  std::string name;
  // Where, when and under which load it was measured.
  std::string description;
  // CPU time per transaction.
  cpu_profile cpu;
  // Loopback TCP: round trip of a small message, and bandwidth.
  double rtt_p50_us = 0, rtt_p99_us = 0, gbit_per_s = 0;
  // Write + barrier latency, by writers and size.
  std::vector<disk_sample> disk;
  // The node's own phases, by io backend (none when not measured).
  std::vector<node_costs> node;
  // For a profile made for one cell of a validation (with_disk_now): the
  // disk as checked around that cell's run, which the figures above were
  // scaled to; `validate --again` scales a profile to them alike. Empty
  // in a calibrated profile.
  std::vector<disk_sample> disk_checked;

  // The most writers measured at once.
  std::uint32_t writers_max() const;
  // The disk as measured through `io` ("uring" or "epoll"; the other
  // when that one was not measured) with `writers` at once (the nearest
  // count measured): each size's measured distribution
  // (disk_profile::by_size).
  disk_profile disk_for(const std::string& io, std::uint32_t writers) const;
  // How many writes the disk serves at once, as measured through `io`:
  // the throughput with the most writers measured over the throughput
  // with one (mean latencies, the largest size measured), rounded, at
  // least 1.
  std::uint32_t disk_parallelism(const std::string& io) const;
  // The network: one-way delay half the measured round trip.
  network_profile network() const;
  // The node costs measured through `io` (off when none were).
  node_costs node_for(const std::string& io) const;
};

// How much slower (above 1) or faster the disk is now than the profile
// says, for writes of `bytes` with `writers` at once: from `now`, the
// disk measured again (calibrate::check_disk: one backend, a few sizes,
// one writer and more), the ratio of its p50 to the profile's for the
// same backend, writers and size. The size measured nearest on a log
// scale gives it; between two writer counts measured, it is interpolated
// on a log scale; beyond them, the nearest's. 1 when `now` matches
// nothing in the profile.
double disk_factor(const machine_profile& m, const std::vector<disk_sample>& now,
                   std::uint32_t writers, std::uint64_t bytes);
// The profile with its disk as measured in `now` (kept in disk_checked,
// each figure as the profile file writes it, so that the profile made
// again from its file is the same): every disk sample, of either
// backend, its latencies times disk_factor for its writers and size. The
// node costs stay: they are the node's time beyond the disk's.
machine_profile with_disk_now(const machine_profile& m, const std::vector<disk_sample>& now);

// The profile as a commented TOML file.
std::string to_toml(const machine_profile& m);
// Parses a profile; the error names the key at fault.
base::result<machine_profile> parse_machine(const std::string& text);
// Reads a profile file; the error names the file.
base::result<machine_profile> load_machine(const std::filesystem::path& file);

}  // namespace ringchain::dst
