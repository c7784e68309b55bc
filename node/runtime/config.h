// ringchain-node's configuration: a TOML file, every key overridable by a
// flag of the same name. The keys are listed once (config.cc, `keys`): the
// TOML reader, the flags and --help all come from that one table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node/base/limits.h"
#include "node/base/result.h"
#include "node/io/reactor.h"
#include "node/net/address.h"
#include "node/storage/block_log.h"

namespace ringchain::runtime {

using net::peer_address;

// The cores but one (the reactor's), at least one.
std::uint32_t default_verify_threads();

// Verifier threads at most.
inline constexpr std::uint32_t verify_threads_max = 64;

// One node's settings, as load_config() reads them from the file and the
// flags; fixed once the node starts. validate() checks them together.
struct node_config {
  // This node's id (non-zero, and listed in `peers`).
  std::uint64_t id = 0;
  // "host:port" this node listens on for peers.
  std::string listen_peer = "127.0.0.1:7001";
  // "host:port" this node listens on for clients.
  std::string listen_client = "127.0.0.1:8001";
  // "host:port" of the admin port: requests that change the node's
  // behaviour (the slow-disk knob) are taken here only. Keep it on
  // loopback: whoever reaches it is an operator.
  std::string listen_admin = "127.0.0.1:9001";
  // "host:port" of the Prometheus endpoint (HTTP GET /metrics); empty:
  // none.
  std::string listen_metrics;
  // Mutual TLS on the peer port: the cluster CA's certificate, this node's
  // certificate (its common name "ringchain-node-<id>") and key, as PEM
  // files (scripts/make-certs.sh makes them). All three, or none (plain
  // TCP, with a warning at start-up).
  std::string tls_ca;
  // This node's certificate (PEM; see tls_ca).
  std::string tls_cert;
  // This node's private key (PEM; see tls_ca).
  std::string tls_key;
  // Every node of the cluster, this one included.
  std::vector<peer_address> peers;
  // This node joins a running cluster: it starts with no membership and
  // takes part once the leader adds it (ringchain-client admin
  // --add-learner, then --promote). `peers` lists the cluster's nodes so
  // that it can answer them. Keep it set on restarts: the membership in
  // its log and snapshots is what counts once applied.
  bool join = false;
  // Where the block log and the block trace live.
  std::string data_dir = "data";
  // The I/O backend: one io_uring, or epoll with a syscall per operation.
  io::backend io = io::backend::uring;
  // One barrier per block, or one per transaction in turn.
  storage::persistence persistence = storage::persistence::per_block;
  // The leader cuts a block every round, or earlier when it is full.
  std::uint32_t round_interval_ms = 100;
  // A block meets its deadline when committed this long after its round
  // started (recorded in the block trace).
  std::uint32_t round_deadline_ms = 200;
  // A block's transactions, at most (up to limits::block_txs_max).
  std::uint32_t block_txs_max = 256;
  // A block's encoded transaction bytes, at most (up to
  // limits::block_bytes_max).
  std::uint64_t block_bytes_max = 1 << 20;
  // Cut a block even when the mempool is empty.
  bool empty_blocks = false;
  // The consensus tick.
  std::uint32_t tick_ms = 10;
  // The election timeout in ticks (core::config::election_ticks).
  std::uint32_t election_ticks = 30;
  // The leader's heartbeat interval in ticks; below election_ticks.
  std::uint32_t heartbeat_ticks = 3;
  // Transactions waiting in the mempool, at most.
  std::uint64_t mempool_txs_max = 100000;
  // Client connections at once (at most limits::client_connections_max).
  std::uint32_t client_connections_max = 1024;
  // How long a client connection may stay idle before it is closed (at
  // least 1 s, at most limits::client_idle_timeout_ms_max).
  std::uint32_t client_idle_timeout_ms = 300'000;
  // Bytes of incomplete frames the node buffers across every connection,
  // in MiB (at most limits::partial_frame_bytes_total_max).
  std::uint32_t partial_frames_mib = 256;
  // Threads that check signatures (the cores but one, by default).
  std::uint32_t verify_threads = default_verify_threads();
  // Followers check every signature of the blocks a leader sends before
  // taking them (besides encoding, Merkle root and chain link, which they
  // always check). Off by default: the leader checked each transaction
  // when it entered the cluster, and a follower that checks again spends
  // as much CPU as the leader (docs/ARCHITECTURE.md has the cost).
  bool verify_follower_signatures = false;
  // io=uring: a kernel thread polls the submission queue (SQPOLL). Off by
  // default; see io::reactor_options::sqpoll for why.
  bool uring_sqpoll = false;
  // A delay added after every fdatasync (slow-disk experiments; 0: none).
  std::uint32_t barrier_delay_us = 0;
  // Size of each block-log segment, zero-filled before use.
  std::uint32_t segment_mib = 64;
  // A snapshot of the state every this many blocks or MiB of blocks,
  // whichever comes first; the log before it is dropped from memory and
  // its segments from disk, but for the last snapshot_catchup_blocks,
  // which a follower a little behind still reads (Raft §7).
  std::uint32_t snapshot_interval_blocks = 1000;
  // A snapshot after this many MiB of blocks (see above).
  std::uint32_t snapshot_interval_mib = 32;
  // Blocks kept in the log behind a snapshot for followers a little behind.
  std::uint32_t snapshot_catchup_blocks = 100;
  // Old blocks after compaction: with `archive` the node keeps every
  // committed block on disk (the block store, not memory) and answers any
  // height; otherwise it keeps about the newest blocks_kept (whole files
  // of them, so a little more) and answers an older height with "block H
  // was compacted; this node keeps blocks from H0 on".
  bool archive = false;
  // Blocks kept for queries without archive (1..limits::blocks_kept_max).
  std::uint64_t blocks_kept = 20'000;
  // Transactions of the newest applied blocks that the node indexes by
  // hash for clients' lookups (up to limits::tx_index_txs_max; 0: no
  // index, and lookups by hash say so). Older blocks leave the index whole.
  std::uint64_t tx_index_txs = limits::tx_index_txs_max;
  // spdlog's level: trace, debug, info, warn or error.
  std::string log_level = "info";

  // Checks the settings together; the error names the key.
  base::status validate() const;
  // Whether the peer port runs mutual TLS.
  bool tls_enabled() const { return !tls_ca.empty(); }
};

// What the command line asks for: a node to run with `config`, or an exit
// at once with `exit_code` (0 after --help, 2 after a bad setting, with the
// reason printed).
struct command_line {
  // The settings to run with; nothing when the program exits at once.
  std::optional<node_config> config;
  // The exit status when `config` is empty.
  int exit_code = 0;
};

// Reads the command line and the --config file it names; flags win over
// the file.
[[nodiscard]] command_line load_config(int argc, char** argv);

}  // namespace ringchain::runtime
