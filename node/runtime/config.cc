#include "node/runtime/config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>

#include "node/base/limits.h"

namespace ringchain::runtime {

using net::parse_address;

bool parse_peers(const std::string& text, std::vector<peer_address>* out) {
  out->clear();
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const auto at = item.find('@');
    const auto slash = item.find('/');
    if (at == std::string::npos || slash == std::string::npos || slash < at) return false;
    peer_address p;
    try {
      p.id = std::stoull(item.substr(0, at));
    } catch (...) {
      return false;
    }
    p.peer = item.substr(at + 1, slash - at - 1);
    p.client = item.substr(slash + 1);
    out->push_back(p);
  }
  return !out->empty();
}

std::string node_config::validate() const {
  sockaddr_in a{};
  if (id == 0) return "id: must be a non-zero node id";
  if (!parse_address(listen_peer, &a)) return "listen_peer: not host:port (" + listen_peer + ")";
  if (!parse_address(listen_client, &a))
    return "listen_client: not host:port (" + listen_client + ")";
  bool self = false;
  for (const auto& p : peers) {
    if (!parse_address(p.peer, &a) || !parse_address(p.client, &a)) {
      return "peers: node " + std::to_string(p.id) + " has a malformed address";
    }
    self |= p.id == id;
  }
  if (!self) return "peers: must list this node (id " + std::to_string(id) + ")";
  if (peers.size() > limits::peers_max)
    return "peers: more than " + std::to_string(limits::peers_max);
  if (data_dir.empty()) return "data_dir: must be set";
  if (round_interval_ms == 0) return "round_interval_ms: must be at least 1";
  if (round_deadline_ms == 0) return "round_deadline_ms: must be at least 1";
  if (block_txs_max == 0 || block_txs_max > limits::block_txs_max) {
    return "block_txs_max: must be in [1, " + std::to_string(limits::block_txs_max) + "]";
  }
  if (block_bytes_max == 0 || block_bytes_max > limits::block_bytes_max) {
    return "block_bytes_max: must be in [1, " + std::to_string(limits::block_bytes_max) + "]";
  }
  if (mempool_txs_max == 0 || mempool_txs_max > limits::mempool_txs_max) {
    return "mempool_txs_max: must be in [1, " + std::to_string(limits::mempool_txs_max) + "]";
  }
  if (tick_ms == 0) return "tick_ms: must be at least 1";
  if (heartbeat_ticks == 0 || heartbeat_ticks >= election_ticks) {
    return "heartbeat_ticks: must be at least 1 and below election_ticks";
  }
  if (election_ticks > limits::election_ticks_max) return "election_ticks: above its limit";
  if (segment_mib < limits::write_bytes_max / limits::mib ||
      segment_mib > limits::segment_bytes_max / limits::mib) {
    return "segment_mib: must be in [" + std::to_string(limits::write_bytes_max / limits::mib) +
           ", " + std::to_string(limits::segment_bytes_max / limits::mib) + "]";
  }
  return {};
}

namespace {

// Copies TOML values into the config; every key is checked for its type.
std::string apply_toml(const toml::table& t, node_config* c, std::string* io,
                       std::string* persistence, std::string* peers) {
  for (const auto& [key, node] : t) {
    const std::string k(key.str());
    auto num = [&](auto* field) {
      auto v = node.value<std::int64_t>();
      if (!v || *v < 0) return false;
      *field = static_cast<std::remove_pointer_t<decltype(field)>>(*v);
      return true;
    };
    auto str = [&](std::string* field) {
      auto v = node.value<std::string>();
      if (!v) return false;
      *field = *v;
      return true;
    };
    bool ok = true;
    if (k == "id")
      ok = num(&c->id);
    else if (k == "listen_peer")
      ok = str(&c->listen_peer);
    else if (k == "listen_client")
      ok = str(&c->listen_client);
    else if (k == "data_dir")
      ok = str(&c->data_dir);
    else if (k == "io")
      ok = str(io);
    else if (k == "persistence")
      ok = str(persistence);
    else if (k == "peers")
      ok = str(peers);
    else if (k == "round_interval_ms")
      ok = num(&c->round_interval_ms);
    else if (k == "round_deadline_ms")
      ok = num(&c->round_deadline_ms);
    else if (k == "block_txs_max")
      ok = num(&c->block_txs_max);
    else if (k == "block_bytes_max")
      ok = num(&c->block_bytes_max);
    else if (k == "empty_blocks") {
      auto v = node.value<bool>();
      ok = v.has_value();
      if (ok) c->empty_blocks = *v;
    } else if (k == "tick_ms")
      ok = num(&c->tick_ms);
    else if (k == "election_ticks")
      ok = num(&c->election_ticks);
    else if (k == "heartbeat_ticks")
      ok = num(&c->heartbeat_ticks);
    else if (k == "mempool_txs_max")
      ok = num(&c->mempool_txs_max);
    else if (k == "barrier_delay_us")
      ok = num(&c->barrier_delay_us);
    else if (k == "log_level")
      ok = str(&c->log_level);
    else
      return k + ": unknown key";
    if (!ok) return k + ": wrong type or negative value";
  }
  return {};
}

}  // namespace

int load_config(int argc, char** argv, node_config* out) {
  CLI::App app{
      "ringchain-node: one node of a ringchain cluster. Every key of the TOML file given "
      "with --config can also be set by the flag of the same name; flags win."};
  node_config& c = *out;
  std::string config_file, io = "uring", persistence = "per_block", peers;
  app.add_option("--config", config_file, "TOML file with the keys below")
      ->check(CLI::ExistingFile);
  app.add_option("--id", c.id, "this node's id (non-zero)");
  app.add_option("--listen_peer", c.listen_peer, "host:port for peer connections");
  app.add_option("--listen_client", c.listen_client, "host:port for client connections");
  app.add_option("--peers", peers,
                 "every node: id@peer_host:port/client_host:port, comma separated");
  app.add_option("--data_dir", c.data_dir, "directory of the block log and the block trace");
  app.add_option("--io", io, "I/O backend: uring or epoll");
  app.add_option("--persistence", persistence, "per_block (one barrier per block) or per_tx");
  app.add_option("--round_interval_ms", c.round_interval_ms, "the leader cuts a block every round");
  app.add_option("--round_deadline_ms", c.round_deadline_ms, "deadline of a round, from its start");
  app.add_option("--block_txs_max", c.block_txs_max, "transactions per block at most");
  app.add_option("--block_bytes_max", c.block_bytes_max,
                 "encoded transaction bytes per block at most");
  app.add_option("--empty_blocks", c.empty_blocks, "cut blocks even with no transactions");
  app.add_option("--tick_ms", c.tick_ms, "consensus tick");
  app.add_option("--election_ticks", c.election_ticks, "election timeout in ticks");
  app.add_option("--heartbeat_ticks", c.heartbeat_ticks, "heartbeat interval in ticks");
  app.add_option("--mempool_txs_max", c.mempool_txs_max, "transactions waiting at most");
  app.add_option("--barrier_delay_us", c.barrier_delay_us,
                 "delay added after every fdatasync (slow-disk experiments)");
  app.add_option("--segment_mib", c.segment_mib, "block-log segment size in MiB (16 to 256)");
  app.add_option("--log_level", c.log_level, "trace, debug, info, warn or error");
  // The file first, then the flags over it: parse twice.
  try {
    app.parse(argc, argv);
    if (!config_file.empty()) {
      toml::table t = toml::parse_file(config_file);
      if (std::string err = apply_toml(t, &c, &io, &persistence, &peers); !err.empty()) {
        std::cerr << "ringchain-node: bad config " << config_file << ": " << err << "\n";
        return 2;
      }
      app.parse(argc, argv);
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const toml::parse_error& e) {
    std::cerr << "ringchain-node: bad config " << config_file << ": " << e.description()
              << " at line " << e.source().begin.line << "\n";
    return 2;
  }
  std::string err;
  if (!io::parse_backend(io, &c.io))
    err = "io: must be uring or epoll, not " + io;
  else if (!storage::parse_persistence(persistence, &c.persistence))
    err = "persistence: must be per_block or per_tx, not " + persistence;
  else if (!peers.empty() && !parse_peers(peers, &c.peers))
    err = "peers: expected id@host:port/host:port,...";
  else
    err = c.validate();
  if (!err.empty()) {
    std::cerr << "ringchain-node: bad config: " << err << "\n";
    return 2;
  }
  return 0;
}

}  // namespace ringchain::runtime
