// ringchain-node's configuration: a TOML file, every key overridable by a
// flag of the same name.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "node/io/reactor.h"
#include "node/net/address.h"
#include "node/storage/block_log.h"

namespace ringchain::runtime {

struct peer_address {
  std::uint64_t id = 0;
  // "host:port" of the peer port and of the client port.
  std::string peer;
  std::string client;
};

struct node_config {
  std::uint64_t id = 0;
  std::string listen_peer = "127.0.0.1:7001";
  std::string listen_client = "127.0.0.1:8001";
  // Every node of the cluster, this one included.
  std::vector<peer_address> peers;
  std::string data_dir = "data";
  io::backend io = io::backend::uring;
  storage::persistence persistence = storage::persistence::per_block;
  // The leader cuts a block every round, or earlier when it is full.
  std::uint32_t round_interval_ms = 100;
  // A block meets its deadline when committed this long after its round
  // started (recorded in the block trace).
  std::uint32_t round_deadline_ms = 200;
  std::uint32_t block_txs_max = 256;
  std::uint64_t block_bytes_max = 1 << 20;
  // Cut a block even when the mempool is empty.
  bool empty_blocks = false;
  std::uint32_t tick_ms = 10;
  std::uint32_t election_ticks = 30;
  std::uint32_t heartbeat_ticks = 3;
  std::uint64_t mempool_txs_max = 100000;
  std::uint32_t barrier_delay_us = 0;
  // Size of each block-log segment, zero-filled before use.
  std::uint32_t segment_mib = 64;
  std::string log_level = "info";

  // An empty string when usable, else "key: problem".
  std::string validate() const;
};

// Parses "1@127.0.0.1:7001/127.0.0.1:8001,2@..." (id@peer/client, comma
// separated).
bool parse_peers(const std::string& text, std::vector<peer_address>* out);

// Reads the command line (and the --config file it names). Returns 0 to
// run, or an exit code (after printing help or an error naming the key).
int load_config(int argc, char** argv, node_config* out);

}  // namespace ringchain::runtime
