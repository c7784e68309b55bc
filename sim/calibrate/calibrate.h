// `ringchain-sim calibrate`: measures this machine and makes a machine
// profile (sim/dst/machine.h) that simulated experiments name.
//
//  - CPU: the node's own functions on one thread, timed by the thread's
//    CPU clock (so that other load on the machine does not inflate them):
//    Ed25519 checks, transaction hashes, Merkle trees, block encoding and
//    decoding, the ledger's apply, consensus messages (encoding, decoding,
//    a send and a receive on a socket pair).
//  - Disk: write + fdatasync into zero-filled space on the data
//    directory's disk (as the block log writes into its zero-filled
//    segments), through the node's own reactors (io_uring and epoll,
//    whose barriers this kernel serves differently), at the sizes of
//    blocks and of per-transaction parts (in chains of 16, as per_tx
//    writes them), with 1 to N writers at once, each on its own file (N
//    nodes of one machine).
//  - Network: loopback TCP round trips of a small message, and one
//    stream's bandwidth.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "node/base/result.h"
#include "node/io/reactor.h"
#include "sim/dst/machine.h"

namespace ringchain::calibrate {

// What to measure, and where.
struct options {
  // The profile's name.
  std::string name = "calibrated";
  // A directory on the disk to measure; a scratch directory is made in it
  // and removed afterwards.
  std::filesystem::path dir = ".";
  // Writers at once, up to (a cluster of this many local nodes).
  std::uint32_t writers_max = 3;
  // The transactions' size.
  std::uint32_t tx_bytes = 256;
  // Milliseconds each disk measurement runs.
  std::uint32_t disk_ms = 1500;
  // Called with a line for each figure measured.
  std::function<void(const std::string&)> progress;
};

// Measures the machine; the error says what could not be measured (the
// directory cannot be written, a socket cannot be opened).
base::result<dst::machine_profile> measure(const options& o);

// The CPU figures alone (profile.cpu), for transactions of `tx_bytes`.
dst::cpu_profile measure_cpu(std::uint32_t tx_bytes);

// One disk measurement: `writers` threads at once, each on its own
// reactor of `io` and its own zero-filled file, writing `chunks` parts of
// `bytes` at a time (each part made durable in turn: chunks > 1 is the
// per-transaction pattern), `writes` times or for budget_ms.
struct disk_pattern {
  // The reactor backend each writer runs.
  io::backend io = io::backend::uring;
  // Threads writing at once, each to its own file.
  std::uint32_t writers = 1;
  // Bytes of each part.
  std::uint64_t bytes = 4096;
  // Parts per write, each made durable in turn.
  std::uint32_t chunks = 1;
  // Writes per writer, at most.
  std::uint32_t writes = 5000;
  // Milliseconds the measurement runs, at most.
  std::uint32_t budget_ms = 1500;
};
// The latency of one part (write + barrier) under pattern `p`, in
// `scratch` (an existing directory).
base::result<dst::disk_sample> measure_disk(const std::filesystem::path& scratch,
                                            const disk_pattern& p);

// The disk measured again, quickly, to see how far it has moved from a
// profile (dst::disk_factor, dst::with_disk_now): write + fdatasync
// through io_uring, as measure() writes them (per-transaction parts and
// 64 KiB blocks), with one writer and with `writers` at once (when more
// than one), each for `budget_ms`, in a scratch directory made in `dir`
// and removed. The error says what could not be written.
base::result<std::vector<dst::disk_sample>> check_disk(const std::filesystem::path& dir,
                                                       std::uint32_t writers,
                                                       std::uint32_t budget_ms = 500);
// The disk between two checks of it: each sample's p50 the geometric mean
// of the two (samples of `before` that `after` lacks as they were).
std::vector<dst::disk_sample> between(const std::vector<dst::disk_sample>& before,
                                      const std::vector<dst::disk_sample>& after);

// Loopback TCP, as measured.
struct loopback {
  // Round trip of a 64-byte message, percentiles in microseconds.
  double rtt_p50_us = 0, rtt_p99_us = 0;
  // One stream's bandwidth.
  double gbit_per_s = 0;
};
// Measures loopback TCP; the error names the socket call that failed.
base::result<loopback> measure_loopback();

}  // namespace ringchain::calibrate
