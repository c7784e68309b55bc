#include "node/runtime/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>

#include "node/runtime/latency_budget.h"

namespace ringchain::runtime {

namespace {

// Latency buckets from 0.5 ms to 10 s, with one ending at the deadline.
prometheus::Histogram::BucketBoundaries latency_buckets(std::uint32_t deadline_ms) {
  std::vector<double> b = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                           0.1,    0.2,   0.5,   1,     2,    5,    10};
  b.push_back(deadline_ms / 1000.0);
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

}  // namespace

node_metrics::node_metrics(std::uint64_t node_id, std::size_t quorum,
                           std::uint32_t round_deadline_ms)
    : registry_(std::make_shared<prometheus::Registry>()),
      node_label_{{"node", std::to_string(node_id)}},
      quorum_(quorum) {
  const auto buckets = latency_buckets(round_deadline_ms);
  commit_ = &prometheus::BuildHistogram()
                 .Name("ringchain_block_commit_seconds")
                 .Help("Blocks this node led: round start to durable on a quorum")
                 .Labels(node_label_)
                 .Register(*registry_)
                 .Add({}, buckets);
  auto& phase = prometheus::BuildHistogram()
                    .Name("ringchain_block_phase_seconds")
                    .Help(
                        "Blocks this node led: each phase of the latency budget "
                        "(build, leader_persist, network, follower_persist, quorum_wait, apply)")
                    .Labels(node_label_)
                    .Register(*registry_);
  for (const char* p :
       {"build", "leader_persist", "network", "follower_persist", "quorum_wait", "apply"}) {
    phases_[p] = &phase.Add({{"phase", p}}, buckets);
  }
  write_seconds_ = &prometheus::BuildHistogram()
                        .Name("ringchain_block_log_write_seconds")
                        .Help(
                            "Block-log writes: submitted to durable (the write and its "
                            "fdatasync barrier; per_tx: every part's barrier)")
                        .Labels(node_label_)
                        .Register(*registry_)
                        .Add({}, buckets);
  write_bytes_ = &prometheus::BuildHistogram()
                      .Name("ringchain_block_log_write_bytes")
                      .Help("Block-log writes: entry bytes carried")
                      .Labels(node_label_)
                      .Register(*registry_)
                      .Add({}, prometheus::Histogram::BucketBoundaries{1024, 4096, 16384, 65536,
                                                                       262144, 1048576, 4194304});
}

node_metrics::~node_metrics() = default;

void node_metrics::observe_block(const block_record& r) {
  const phases p = split(r, quorum_);
  commit_->Observe(p.commit_us / 1e6);
  phases_["build"]->Observe(p.build_us / 1e6);
  phases_["leader_persist"]->Observe(p.leader_persist_us / 1e6);
  phases_["network"]->Observe(p.network_us / 1e6);
  phases_["follower_persist"]->Observe(p.follower_persist_us / 1e6);
  phases_["quorum_wait"]->Observe(p.quorum_wait_us / 1e6);
  phases_["apply"]->Observe(p.apply_us / 1e6);
}

void node_metrics::observe_write(std::uint64_t micros, std::uint64_t bytes) {
  write_seconds_->Observe(static_cast<double>(micros) / 1e6);
  write_bytes_->Observe(static_cast<double>(bytes));
}

prometheus::Counter& node_metrics::counter(const std::string& name, const std::string& help,
                                           const std::map<std::string, std::string>& labels) {
  auto& family = counter_families_[name];
  if (family == nullptr) {
    family =
        &prometheus::BuildCounter().Name(name).Help(help).Labels(node_label_).Register(*registry_);
  }
  return family->Add(labels);
}

prometheus::Gauge& node_metrics::gauge(const std::string& name, const std::string& help,
                                       const std::map<std::string, std::string>& labels) {
  auto& family = gauge_families_[name];
  if (family == nullptr) {
    family =
        &prometheus::BuildGauge().Name(name).Help(help).Labels(node_label_).Register(*registry_);
  }
  return family->Add(labels);
}

// A counter shows the node's own running total (they only grow).
void node_metrics::set_total(prometheus::Counter& c, std::uint64_t value) {
  const double now = static_cast<double>(value);
  if (now > c.Value()) c.Increment(now - c.Value());
}

std::string node_metrics::scrape(const metrics_snapshot& s) {
  gauge("ringchain_has_leader", "1 when this node knows a leader").Set(s.has_leader);
  gauge("ringchain_is_leader", "1 while this node leads").Set(s.is_leader);
  gauge("ringchain_term", "The current term").Set(static_cast<double>(s.term));
  gauge("ringchain_height", "Blocks applied to the ledger").Set(static_cast<double>(s.height));
  gauge("ringchain_commit_index", "The log's commit index")
      .Set(static_cast<double>(s.commit_index));
  gauge("ringchain_mempool_transactions", "Transactions waiting for a block")
      .Set(static_cast<double>(s.mempool_txs));
  const auto total = [&](const char* name, const char* key, const char* help) {
    if (auto it = s.counters.find(key); it != s.counters.end())
      set_total(counter(name, help), it->second);
  };
  total("ringchain_blocks_committed_total", "blocks_applied", "Committed blocks applied");
  total("ringchain_transactions_committed_total", "txs_applied",
        "Transactions of committed blocks applied");
  total("ringchain_leader_changes_total", "leader_changes", "Changes of the leader this node saw");
  total("ringchain_fdatasyncs_total", "fdatasyncs", "Barriers completed");
  total("ringchain_reactor_enters_total", "io_enter_calls",
        "uring: io_uring_enter calls; epoll: waits for events");
  for (const auto& [name, value] : s.counters) {
    set_total(counter("ringchain_node_events_total",
                      "Every counter of the node, as ringchain-client status shows them",
                      {{"event", name}}),
              value);
  }
  for (const auto& [reason, value] : s.refusals) {
    set_total(counter("ringchain_refusals_total", "Connections and requests refused, by reason",
                      {{"reason", reason}}),
              value);
  }
  for (const auto& [kind, value] : s.submitted) {
    set_total(counter("ringchain_reactor_submitted_total",
                      "uring: SQEs submitted; epoll: I/O operations started (each a syscall "
                      "or an Asio operation), by kind",
                      {{"kind", kind}}),
              value);
  }
  for (const auto& [kind, value] : s.completed) {
    set_total(
        counter("ringchain_reactor_completed_total",
                "uring: CQEs reaped; epoll: I/O operations completed, by kind", {{"kind", kind}}),
        value);
  }
  for (const auto& l : s.links) {
    const std::map<std::string, std::string> peer{{"peer", std::to_string(l.id)}};
    gauge("ringchain_peer_link_up", "1 while this node's connection to the peer is up", peer)
        .Set(l.connected);
    gauge("ringchain_peer_last_heard_seconds",
          "Seconds since this node last received a frame from the peer (-1: never)", peer)
        .Set(l.last_heard_us == 0 ? -1.0 : static_cast<double>(s.now_us - l.last_heard_us) / 1e6);
  }
  for (const auto& [port, n] : s.connections) {
    gauge("ringchain_connections", "Connections open, by port", {{"port", port}})
        .Set(static_cast<double>(n));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace ringchain::runtime
