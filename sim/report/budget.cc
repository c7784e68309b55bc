#include "sim/report/budget.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace ringchain::report {

bool parse_block_record(const std::string& line, block_record* out, std::string* error) {
  try {
    const auto j = nlohmann::json::parse(line);
    block_record b;
    auto u = [&](const char* k) { return j.at(k).get<std::uint64_t>(); };
    b.node = u("node");
    b.index = u("index");
    b.height = u("height");
    b.term = u("term");
    b.round = u("round");
    b.txs = u("txs");
    b.bytes = u("bytes");
    b.round_start_us = u("round_start_us");
    b.cut_us = u("cut_us");
    b.write_submitted_us = u("write_submitted_us");
    b.barrier_done_us = u("barrier_done_us");
    b.committed_us = u("committed_us");
    b.applied_us = u("applied_us");
    b.deadline_us = u("deadline_us");
    for (const auto& f : j.at("followers")) {
      b.followers.push_back({f.at("id").get<std::uint64_t>(), f.at("sent_us").get<std::uint64_t>(),
                             f.at("acked_us").get<std::uint64_t>(),
                             f.at("persist_us").get<std::uint64_t>()});
    }
    *out = std::move(b);
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

phases split(const block_record& b, std::size_t quorum) {
  phases p;
  const auto us = [](std::uint64_t a, std::uint64_t z) {
    return static_cast<double>(a) - static_cast<double>(z);
  };
  p.commit_us = us(b.committed_us, b.round_start_us);
  p.build_us = us(b.write_submitted_us, b.round_start_us);
  p.apply_us = us(b.applied_us, b.committed_us);
  p.slack_us = us(b.deadline_us, b.committed_us);
  p.deadline_met = b.committed_us <= b.deadline_us;
  // The follower whose acknowledgement completed the quorum: the
  // (quorum - 1)-th earliest, the leader counting itself.
  std::vector<const block_record::follower*> acked;
  for (const auto& f : b.followers) {
    if (f.acked_us != 0) acked.push_back(&f);
  }
  std::sort(acked.begin(), acked.end(), [](auto* a, auto* z) { return a->acked_us < z->acked_us; });
  const block_record::follower* deciding =
      quorum >= 2 && acked.size() >= quorum - 1 ? acked[quorum - 2] : nullptr;
  std::uint64_t quorum_ready = b.barrier_done_us;
  if (deciding != nullptr && deciding->acked_us > b.barrier_done_us) {
    quorum_ready = deciding->acked_us;
    p.follower_persist_us = static_cast<double>(deciding->persist_us);
    p.network_us = us(deciding->acked_us, b.write_submitted_us) - p.follower_persist_us;
  } else {
    p.leader_persist_us = us(b.barrier_done_us, b.write_submitted_us);
  }
  p.quorum_wait_us = us(b.committed_us, quorum_ready);
  return p;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

summary summarize(const std::vector<block_record>& blocks, std::size_t quorum) {
  summary s;
  s.blocks = blocks.size();
  if (blocks.empty()) return s;
  std::vector<double> commit_ms, slack_ms;
  std::uint64_t first = blocks.front().round_start_us, last = 0;
  std::size_t met = 0;
  for (const auto& b : blocks) {
    const phases p = split(b, quorum);
    s.txs += b.txs;
    commit_ms.push_back(p.commit_us / 1000.0);
    slack_ms.push_back(p.slack_us / 1000.0);
    met += p.deadline_met;
    first = std::min(first, b.round_start_us);
    last = std::max(last, b.committed_us);
    s.mean.build_us += p.build_us;
    s.mean.leader_persist_us += p.leader_persist_us;
    s.mean.network_us += p.network_us;
    s.mean.follower_persist_us += p.follower_persist_us;
    s.mean.quorum_wait_us += p.quorum_wait_us;
    s.mean.apply_us += p.apply_us;
    s.mean.commit_us += p.commit_us;
    s.mean.slack_us += p.slack_us;
  }
  const auto n = static_cast<double>(blocks.size());
  for (double* v : {&s.mean.build_us, &s.mean.leader_persist_us, &s.mean.network_us,
                    &s.mean.follower_persist_us, &s.mean.quorum_wait_us, &s.mean.apply_us,
                    &s.mean.commit_us, &s.mean.slack_us}) {
    *v /= n;
  }
  s.seconds = static_cast<double>(last - first) / 1e6;
  s.txs_per_s = s.seconds > 0 ? static_cast<double>(s.txs) / s.seconds : 0;
  s.deadline_met_ratio = static_cast<double>(met) / n;
  s.p50_ms = percentile(commit_ms, 50);
  s.p90_ms = percentile(commit_ms, 90);
  s.p99_ms = percentile(commit_ms, 99);
  s.p999_ms = percentile(commit_ms, 99.9);
  s.max_ms = percentile(commit_ms, 100);
  s.slack_p50_ms = percentile(slack_ms, 50);
  s.slack_p1_ms = percentile(slack_ms, 1);
  return s;
}

}  // namespace ringchain::report
