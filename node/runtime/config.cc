#include "node/runtime/config.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>
#include <limits>
#include <thread>

#include "node/base/limits.h"

namespace ringchain::runtime {

std::uint32_t default_verify_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 1 ? cores - 1 : 1;
}

namespace {

// What a key's value is, in TOML.
enum class kind { number, text, boolean };

// One configuration key: its TOML and flag name, its help, and how a value
// given as text (a flag, or a TOML value) is stored.
struct key {
  const char* name;
  kind type;
  const char* help;
  base::status (*set)(node_config& c, const std::string& text);
};

template <auto Member>
base::status set_number(node_config& c, const std::string& text) {
  using field = std::remove_reference_t<decltype(c.*Member)>;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return base::fail("not a whole number: \"" + text + "\"");
  }
  if (v > std::numeric_limits<field>::max()) return base::fail("too large: " + text);
  c.*Member = static_cast<field>(v);
  return {};
}

template <auto Member>
base::status set_text(node_config& c, const std::string& text) {
  c.*Member = text;
  return {};
}

template <auto Member>
base::status set_flag(node_config& c, const std::string& text) {
  if (text != "true" && text != "false") return base::fail("must be true or false");
  c.*Member = text == "true";
  return {};
}

base::status set_io(node_config& c, const std::string& text) {
  if (!io::parse_backend(text, &c.io)) return base::fail("must be uring or epoll, not " + text);
  return {};
}

base::status set_persistence(node_config& c, const std::string& text) {
  if (!storage::parse_persistence(text, &c.persistence)) {
    return base::fail("must be per_block or per_tx, not " + text);
  }
  return {};
}

base::status set_peers(node_config& c, const std::string& text) {
  base::result<std::vector<peer_address>> p = net::parse_peers(text);
  if (!p.ok()) return base::fail("expected id@host:port/host:port,...: " + p.message());
  c.peers = std::move(*p);
  return {};
}

// Every key, once.
constexpr key keys[] = {
    {"id", kind::number, "this node's id (non-zero)", set_number<&node_config::id>},
    {"listen_peer", kind::text, "host:port for peer connections",
     set_text<&node_config::listen_peer>},
    {"listen_client", kind::text, "host:port for client connections",
     set_text<&node_config::listen_client>},
    {"listen_admin", kind::text, "host:port for operators' requests (keep it on loopback)",
     set_text<&node_config::listen_admin>},
    {"listen_metrics", kind::text, "host:port of the Prometheus /metrics endpoint (empty: none)",
     set_text<&node_config::listen_metrics>},
    {"tls_ca", kind::text, "the cluster CA certificate (PEM) for mutual TLS between peers",
     set_text<&node_config::tls_ca>},
    {"tls_cert", kind::text, "this node's certificate (PEM), common name ringchain-node-<id>",
     set_text<&node_config::tls_cert>},
    {"tls_key", kind::text, "this node's private key (PEM)", set_text<&node_config::tls_key>},
    {"peers", kind::text, "every node: id@peer_host:port/client_host:port, comma separated",
     set_peers},
    {"data_dir", kind::text, "directory of the block log and the block trace",
     set_text<&node_config::data_dir>},
    {"io", kind::text, "I/O backend: uring or epoll", set_io},
    {"persistence", kind::text, "per_block (one barrier per block) or per_tx", set_persistence},
    {"round_interval_ms", kind::number, "the leader cuts a block every round",
     set_number<&node_config::round_interval_ms>},
    {"round_deadline_ms", kind::number, "deadline of a round, from its start",
     set_number<&node_config::round_deadline_ms>},
    {"block_txs_max", kind::number, "transactions per block at most",
     set_number<&node_config::block_txs_max>},
    {"block_bytes_max", kind::number, "encoded transaction bytes per block at most",
     set_number<&node_config::block_bytes_max>},
    {"empty_blocks", kind::boolean, "cut blocks even with no transactions (true or false)",
     set_flag<&node_config::empty_blocks>},
    {"tick_ms", kind::number, "consensus tick", set_number<&node_config::tick_ms>},
    {"election_ticks", kind::number, "election timeout in ticks",
     set_number<&node_config::election_ticks>},
    {"heartbeat_ticks", kind::number, "heartbeat interval in ticks",
     set_number<&node_config::heartbeat_ticks>},
    {"mempool_txs_max", kind::number, "transactions waiting at most",
     set_number<&node_config::mempool_txs_max>},
    {"client_connections_max", kind::number, "client connections at once",
     set_number<&node_config::client_connections_max>},
    {"client_idle_timeout_ms", kind::number, "a client connection idle this long is closed",
     set_number<&node_config::client_idle_timeout_ms>},
    {"partial_frames_mib", kind::number,
     "MiB of incomplete frames buffered across every connection, at most",
     set_number<&node_config::partial_frames_mib>},
    {"verify_threads", kind::number, "threads that check signatures (default: cores - 1)",
     set_number<&node_config::verify_threads>},
    {"join", kind::boolean,
     "join a running cluster: start with no membership until the leader adds this node",
     set_flag<&node_config::join>},
    {"verify_follower_signatures", kind::boolean,
     "followers check every signature of the leader's blocks too (true or false)",
     set_flag<&node_config::verify_follower_signatures>},
    {"uring_sqpoll", kind::boolean,
     "io=uring: a kernel thread polls for submissions (SQPOLL; true or false)",
     set_flag<&node_config::uring_sqpoll>},
    {"barrier_delay_us", kind::number, "delay added after every fdatasync (slow-disk experiments)",
     set_number<&node_config::barrier_delay_us>},
    {"segment_mib", kind::number, "block-log segment size in MiB (16 to 256)",
     set_number<&node_config::segment_mib>},
    {"snapshot_interval_blocks", kind::number,
     "snapshot the state every this many blocks (or snapshot_interval_mib, whichever first)",
     set_number<&node_config::snapshot_interval_blocks>},
    {"snapshot_interval_mib", kind::number, "snapshot the state every this many MiB of blocks",
     set_number<&node_config::snapshot_interval_mib>},
    {"archive", kind::boolean,
     "keep every committed block on disk for queries (true), or the newest blocks_kept (false)",
     set_flag<&node_config::archive>},
    {"blocks_kept", kind::number, "blocks kept for queries when archive is false",
     set_number<&node_config::blocks_kept>},
    {"snapshot_catchup_blocks", kind::number,
     "blocks kept in the log behind a snapshot for followers a little behind",
     set_number<&node_config::snapshot_catchup_blocks>},
    {"tx_index_txs", kind::number,
     "transactions of the newest blocks indexed for lookups by hash (0: no index)",
     set_number<&node_config::tx_index_txs>},
    {"log_level", kind::text, "trace, debug, info, warn or error",
     set_text<&node_config::log_level>},
};

const key* find_key(std::string_view name) {
  for (const key& k : keys) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

// A TOML value as the text a flag would give, when its type fits the key.
std::optional<std::string> toml_text(const toml::node& v, kind type) {
  switch (type) {
    case kind::number:
      if (auto n = v.value_exact<std::int64_t>(); n && *n >= 0) return std::to_string(*n);
      return std::nullopt;
    case kind::boolean:
      if (auto b = v.value_exact<bool>()) return *b ? "true" : "false";
      return std::nullopt;
    case kind::text:
      if (auto s = v.value_exact<std::string>()) return *s;
      return std::nullopt;
  }
  return std::nullopt;
}

base::status apply_toml(const toml::table& t, node_config* c) {
  for (const auto& [name, value] : t) {
    const std::string k(name.str());
    const key* found = find_key(k);
    if (found == nullptr) return base::fail(k + ": unknown key");
    std::optional<std::string> text = toml_text(value, found->type);
    if (!text) return base::fail(k + ": wrong type or negative value");
    if (base::status s = found->set(*c, *text); !s.ok()) return s.with_context(k);
  }
  return {};
}

base::status read_file(const std::string& file, node_config* c) {
  try {
    return apply_toml(toml::parse_file(file), c).with_context("bad config " + file);
  } catch (const toml::parse_error& e) {
    return base::fail("bad config " + file + ": " + std::string(e.description()) + " at line " +
                      std::to_string(e.source().begin.line));
  }
}

}  // namespace

base::status node_config::validate() const {
  std::string host;
  std::uint16_t port = 0;
  if (id == 0) return base::fail("id: must be a non-zero node id");
  if (!net::split_address(listen_peer, &host, &port))
    return base::fail("listen_peer: not host:port (" + listen_peer + ")");
  if (!net::split_address(listen_client, &host, &port))
    return base::fail("listen_client: not host:port (" + listen_client + ")");
  if (!net::split_address(listen_admin, &host, &port))
    return base::fail("listen_admin: not host:port (" + listen_admin + ")");
  if (!listen_metrics.empty() && !net::split_address(listen_metrics, &host, &port))
    return base::fail("listen_metrics: not host:port (" + listen_metrics + ")");
  if (tls_ca.empty() != tls_cert.empty() || tls_ca.empty() != tls_key.empty()) {
    return base::fail("tls_ca, tls_cert, tls_key: give all three, or none");
  }
  bool self = false;
  for (const auto& p : peers) {
    if (!net::split_address(p.peer, &host, &port) || !net::split_address(p.client, &host, &port)) {
      return base::fail("peers: node " + std::to_string(p.id) + " has a malformed address");
    }
    self |= p.id == id;
  }
  if (!self) return base::fail("peers: must list this node (id " + std::to_string(id) + ")");
  if (peers.size() > limits::peers_max)
    return base::fail("peers: more than " + std::to_string(limits::peers_max));
  if (data_dir.empty()) return base::fail("data_dir: must be set");
  if (round_interval_ms == 0) return base::fail("round_interval_ms: must be at least 1");
  if (round_deadline_ms == 0) return base::fail("round_deadline_ms: must be at least 1");
  auto within = [](const char* k, std::uint64_t v, std::uint64_t lo,
                   std::uint64_t hi) -> base::status {
    if (v >= lo && v <= hi) return {};
    return base::fail(std::string(k) + ": must be in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
  };
  for (base::status s :
       {within("block_txs_max", block_txs_max, 1, limits::block_txs_max),
        within("block_bytes_max", block_bytes_max, 1, limits::block_bytes_max),
        within("mempool_txs_max", mempool_txs_max, 1, limits::mempool_txs_max),
        within("client_connections_max", client_connections_max, 1, limits::client_connections_max),
        within("client_idle_timeout_ms", client_idle_timeout_ms, 1000,
               limits::client_idle_timeout_ms_max),
        within("verify_threads", verify_threads, 1, verify_threads_max),
        within("partial_frames_mib", partial_frames_mib, 1,
               limits::partial_frame_bytes_total_max / limits::mib),
        within("segment_mib", segment_mib, limits::write_bytes_max / limits::mib,
               limits::segment_bytes_max / limits::mib),
        within("snapshot_interval_blocks", snapshot_interval_blocks, 1,
               limits::snapshot_interval_entries_max),
        within("snapshot_interval_mib", snapshot_interval_mib, 1,
               limits::snapshot_interval_bytes_max / limits::mib),
        within("snapshot_catchup_blocks", snapshot_catchup_blocks, 1,
               limits::snapshot_catchup_entries_max),
        within("blocks_kept", blocks_kept, 1, limits::blocks_kept_max),
        within("tx_index_txs", tx_index_txs, 0, limits::tx_index_txs_max)}) {
    if (!s.ok()) return s;
  }
  if (tick_ms == 0) return base::fail("tick_ms: must be at least 1");
  if (heartbeat_ticks == 0 || heartbeat_ticks >= election_ticks) {
    return base::fail("heartbeat_ticks: must be at least 1 and below election_ticks");
  }
  if (election_ticks > limits::election_ticks_max)
    return base::fail("election_ticks: above its limit");
  if (log_level != "trace" && log_level != "debug" && log_level != "info" && log_level != "warn" &&
      log_level != "error" && log_level != "critical" && log_level != "off") {
    return base::fail("log_level: must be trace, debug, info, warn or error, not " + log_level);
  }
  return {};
}

command_line load_config(int argc, char** argv) {
  CLI::App app{
      "ringchain-node: one node of a ringchain cluster. Every key of the TOML file given "
      "with --config can also be set by the flag of the same name; flags win."};
  std::string config_file;
  app.add_option("--config", config_file, "TOML file with the keys below")
      ->check(CLI::ExistingFile);
  std::vector<std::string> given(std::size(keys));
  for (std::size_t i = 0; i < std::size(keys); ++i) {
    app.add_option(std::string("--") + keys[i].name, given[i], keys[i].help);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return {std::nullopt, app.exit(e)};
  }
  node_config c;
  base::status s;
  if (!config_file.empty()) s = read_file(config_file, &c);
  for (std::size_t i = 0; i < std::size(keys) && s.ok(); ++i) {
    if (app.count(std::string("--") + keys[i].name) > 0) {
      s = keys[i].set(c, given[i]).with_context(keys[i].name);
    }
  }
  if (s.ok()) s = c.validate();
  if (!s.ok()) {
    std::cerr << "ringchain-node: "
              << (s.message().rfind("bad config", 0) == 0 ? "" : "bad config: ") << s.message()
              << "\n";
    return {std::nullopt, 2};
  }
  return {std::move(c), 0};
}

}  // namespace ringchain::runtime
