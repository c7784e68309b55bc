#include "node/runtime/latency_budget.h"

#include <algorithm>
#include <vector>

namespace ringchain::runtime {

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

}  // namespace ringchain::runtime
