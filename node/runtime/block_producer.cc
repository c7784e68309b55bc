#include "node/runtime/block_producer.h"

namespace ringchain::runtime {

block_producer::block_producer(node_parts parts, const node_env& env, chain_index& index,
                               block_trace& trace, client_service& clients)
    : parts_(parts),
      env_(env),
      index_(index),
      trace_(trace),
      clients_(clients),
      round_timer_([this] { on_round(); }) {}

void block_producer::start() {
  parts_.reactor.arm(round_timer_,
                     parts_.skew.interval(std::chrono::milliseconds(parts_.cfg.round_interval_ms)));
  round_start_us_ = parts_.reactor.now_us();
}

// A round starts when its timer fires: the leader cuts the block of what
// arrived since the last cut, and the round's deadline counts from here.
void block_producer::on_round() {
  // Rounds keep their schedule: the next starts one interval after this
  // one was due, not after the timer fired, so late wake-ups do not drift.
  const std::uint64_t now = parts_.reactor.now_us();
  const std::uint64_t interval = std::uint64_t{parts_.cfg.round_interval_ms} * 1000;
  next_round_us_ = next_round_us_ == 0 ? now + interval : next_round_us_ + interval;
  if (next_round_us_ <= now) next_round_us_ = now + interval;  // fell behind a whole round
  parts_.reactor.arm(round_timer_,
                     parts_.skew.interval(std::chrono::microseconds(next_round_us_ - now)));
  ++round_;
  round_start_us_ = now;
  if (parts_.raft.get_status().role == core::role::leader) propose();
}

void block_producer::cut_full_blocks() {
  // A full block (by count or by bytes) is cut at once, within the
  // current round, and handed to storage and the network before anything
  // else.
  while (parts_.mempool.size() >= parts_.cfg.block_txs_max ||
         parts_.mempool.bytes() >= parts_.cfg.block_bytes_max) {
    round_start_us_ = parts_.reactor.now_us();
    ++round_;
    if (!propose()) break;
  }
}

bool block_producer::propose() {
  const node_config& cfg = parts_.cfg;
  if (parts_.mempool.size() == 0 && !cfg.empty_blocks) return false;
  const std::uint64_t cut = parts_.reactor.now_us();
  std::vector<chain::transaction> txs =
      parts_.mempool.take(cfg.block_txs_max, cfg.block_bytes_max, parts_.ledger);
  if (txs.empty() && !cfg.empty_blocks) return false;
  // The new block chains after the last one in the log, committed or not.
  const core::raft_log& log = parts_.raft.log();
  const auto prev = index_.at_or_before(log, log.last_index());
  chain::block_params p;
  p.height = prev ? prev->height + 1 : 1;
  p.term = parts_.raft.get_status().term;
  p.prev_hash = prev ? prev->hash : chain::hash{};
  p.proposer = cfg.id;
  p.round = round_;
  p.timestamp_us = parts_.skew.wall_us(parts_.reactor);
  const std::size_t n = txs.size();
  chain::block b = chain::make_block(p, std::move(txs));
  std::string data = b.SerializeAsString();
  const std::uint64_t bytes = data.size();
  const core::proposal r = parts_.raft.propose(std::move(data));
  if (r.result != core::proposal::code::accepted) {
    // The transactions are gone from the mempool: tell their clients.
    clients_.refuse_block(b, "consensus busy, retry");
    parts_.counts.add(counter::blocks_refused_busy);
    return false;
  }
  index_.record({r.index, r.term, p.height, chain::header_hash(b.header())});
  if (RC_PLANTED(env_.bug, ack_before_commit)) {
    for (const auto& tx : b.txs()) clients_.settle(chain::tx_hash(tx), p.height, true);
  }
  block_record t;
  t.index = r.index;
  t.height = p.height;
  t.term = p.term;
  t.round = p.round;
  t.txs = n;
  t.bytes = bytes;
  t.round_start_us = round_start_us_;
  t.cut_us = cut;
  trace_.proposed(std::move(t));
  parts_.counts.add(counter::blocks_proposed);
  return true;
}

}  // namespace ringchain::runtime
