// The node's Prometheus metrics, kept with prometheus-cpp's core (registry,
// families, text format) and served on `listen_metrics` at /metrics by the
// node's own reactor (net/http_server.h). Names follow Prometheus
// conventions: ringchain_..._seconds for durations, _total for counters.
//
// Histograms are observed as things happen (a block the leader traced, a
// durable block-log write); gauges and counters are set from the node's
// state when a scrape arrives, so the hot path never touches them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/net/peer_transport.h"
#include "node/runtime/block_trace.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace ringchain::runtime {

// The node's state when a scrape arrives.
struct metrics_snapshot {
  // Whether some node leads (as far as this one knows).
  bool has_leader = false;
  // Whether this node leads.
  bool is_leader = false;
  // The current term, the ledger's height, the commit index and the
  // transactions in the mempool.
  std::uint64_t term = 0, height = 0, commit_index = 0, mempool_txs = 0;
  // Every counter of the node, by name (status shows the same).
  std::map<std::string, std::uint64_t> counters;
  // Refusals by reason.
  std::map<std::string, std::uint64_t> refusals;
  // Reactor operations submitted and completed, by kind.
  std::map<std::string, std::uint64_t> submitted, completed;
  // The links to the peers (none with a simulated transport).
  std::vector<net::peer_link> links;
  // Connections open, by port ("client").
  std::map<std::string, std::uint64_t> connections;
  // The reactor's clock now (µs), for ages.
  std::uint64_t now_us = 0;
};

// One node's Prometheus registry and its metrics (see the top of this
// file); used on the reactor thread only.
class node_metrics {
 public:
  // `quorum` counts the leader (2 of 3); the deadline shapes the commit
  // latency buckets (one bucket ends exactly at it).
  node_metrics(std::uint64_t node_id, std::size_t quorum, std::uint32_t round_deadline_ms);
  // Destroys the registry and every metric in it (defined where the
  // prometheus-cpp types are complete).
  ~node_metrics();
  node_metrics(const node_metrics&) = delete;
  node_metrics& operator=(const node_metrics&) = delete;

  // A block the leader traced: its commit latency and each phase.
  void observe_block(const block_record& r);
  // A durable block-log write: submit to durable (a write and its
  // fdatasync barrier), and the entry bytes it carried.
  void observe_write(std::uint64_t micros, std::uint64_t bytes);
  // The text exposition of every metric, with `snap` applied first.
  std::string scrape(const metrics_snapshot& snap);

 private:
  prometheus::Counter& counter(const std::string& name, const std::string& help,
                               const std::map<std::string, std::string>& labels = {});
  prometheus::Gauge& gauge(const std::string& name, const std::string& help,
                           const std::map<std::string, std::string>& labels = {});
  void set_total(prometheus::Counter& c, std::uint64_t value);

  std::shared_ptr<prometheus::Registry> registry_;
  std::map<std::string, std::string> node_label_;
  std::size_t quorum_;
  prometheus::Histogram* commit_ = nullptr;
  std::map<std::string, prometheus::Histogram*> phases_;
  prometheus::Histogram* write_seconds_ = nullptr;
  prometheus::Histogram* write_bytes_ = nullptr;
  // Families by metric name, made on first use.
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counter_families_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauge_families_;
};

}  // namespace ringchain::runtime
