#include "sim/report/budget.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace ringchain::report {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
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
  std::size_t met = 0, written = 0;
  for (const auto& b : blocks) {
    if (b.write_submitted_us != 0 && b.barrier_done_us >= b.write_submitted_us) {
      s.leader_write_us += static_cast<double>(b.barrier_done_us - b.write_submitted_us);
      ++written;
    }
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
  if (written > 0) s.leader_write_us /= static_cast<double>(written);
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
