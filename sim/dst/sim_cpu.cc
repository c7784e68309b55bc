#include "sim/dst/sim_cpu.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cmath>

#include "node/runtime/node.h"

namespace ringchain::dst {

namespace wire = google::protobuf::internal;

std::uint64_t block_txs(const core::entry& e) {
  if (e.type() != raftpb::ENTRY_NORMAL || e.data().empty()) return 0;
  // The header is field 1 of a Block: read it alone, not the
  // transactions after it.
  const std::string& d = e.data();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(d.data()),
                                            static_cast<int>(d.size()));
  for (std::uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (wire::WireFormatLite::GetTagFieldNumber(tag) == 1 &&
        wire::WireFormatLite::GetTagWireType(tag) ==
            wire::WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::uint32_t bytes = 0;
      if (!in.ReadVarint32(&bytes)) return 0;
      const auto limit = in.PushLimit(static_cast<int>(bytes));
      chainpb::BlockHeader h;
      if (!h.ParseFromCodedStream(&in)) return 0;
      in.PopLimit(limit);
      return h.tx_count();
    }
    if (!wire::WireFormatLite::SkipField(&in, tag)) return 0;
  }
  return 0;
}

sim_cpu::sim_cpu(const event_queue& events, std::uint32_t nodes, const cpu_profile& profile)
    : events_(events),
      profile_(profile),
      spent_(nodes, 0),
      busy_until_(nodes, 0),
      watched_(nodes),
      use_(nodes) {}

time_ns sim_cpu::ready_at(std::uint32_t slot, time_ns at, rng& r) {
  time_ns& busy = busy_until_[slot];
  if (on() && !host_.empty()) {
    // On a shared machine the event waits for a free core.
    const time_ns free = *std::min_element(host_.begin(), host_.end());
    if (free > std::max(at, busy)) return free;
  }
  if (!on() || at < busy) return std::max(at, busy);
  if (at == busy && at != 0) return at;  // the loop is still running
  ++use_[slot].wakeups;
  busy = at + profile_.wakeup.sample_ns(r);
  return busy;
}

void sim_cpu::settle(std::uint32_t slot) {
  // Without a CPU profile only blocking writes (spend) keep a loop busy.
  if (on()) {
    observe(slot);
  } else if (spent_[slot] == 0) {
    return;
  }
  busy_until_[slot] = std::max(busy_until_[slot], now(slot));
  if (on() && !host_.empty() && spent_[slot] > 0) {
    // The event held one of the machine's cores while it ran.
    time_ns& core = *std::min_element(host_.begin(), host_.end());
    core = std::max(core, events_.now()) + spent_[slot];
  }
  spent_[slot] = 0;
}

void sim_cpu::reset(std::uint32_t slot) {
  spent_[slot] = 0;
  busy_until_[slot] = 0;
  watched_[slot] = {};
}

void sim_cpu::watch(std::uint32_t slot, const runtime::node* n) {
  watched w;
  w.node = n;
  if (n != nullptr) {
    w.last_index = n->consensus().log().last_index();
    w.height = n->ledger().height();
  }
  watched_[slot] = w;
}

void sim_cpu::observe(std::uint32_t slot) {
  watched& w = watched_[slot];
  if (!on() || w.node == nullptr) return;
  const core::raft& r = w.node->consensus();
  const core::raft_log& log = r.log();
  const std::uint64_t last = log.last_index();
  const bool leader = r.get_status().role == core::role::leader;
  // A leader's log grows by its own proposals: blocks it built (hashes,
  // Merkle tree, encoding). A follower's grows by appends, charged when
  // they arrived.
  // With node costs, a block's build is the fitted line of the node's own
  // build phase.
  const node_costs& node = profile_.node;
  // Entries compacted since it was last observed (a snapshot installed
  // from the leader, or its own compaction of entries it applied in
  // between) are out of sight: none is charged, and the ledger is
  // followed from its height now. A snapshot is not built or applied
  // block by block, and a compaction between two observations is rare.
  if (w.last_index < log.compacted_index() || w.applied < log.compacted_index()) {
    w.last_index = std::max(w.last_index, log.compacted_index());
    w.applied = std::max(w.applied, std::max(log.compacted_index(), log.applied()));
    w.height = w.node->ledger().height();
  }
  if (leader) {
    for (std::uint64_t i = w.last_index + 1; i <= last; ++i) {
      const core::entry& e = log.at(i);
      if (node.on()) {
        if (e.type() == raftpb::ENTRY_NORMAL && !e.data().empty()) {
          spend(slot, per_block(node.build_us, node.build_tx_us, block_txs(e)));
        }
      } else {
        spend(slot,
              per_tx(profile_.sha256_us + profile_.merkle_us + profile_.encode_us, block_txs(e)));
      }
    }
  }
  w.last_index = last;
  // Blocks applied since: each decoded and applied; a leader also hashes
  // every transaction to answer its clients.
  const std::uint64_t height = w.node->ledger().height();
  const double apply_us =
      profile_.decode_us + profile_.apply_us + (leader ? profile_.sha256_us : 0.0);
  while (w.height < height && w.applied < log.last_index()) {
    const core::entry& e = log.at(++w.applied);
    if (e.type() != raftpb::ENTRY_NORMAL || e.data().empty()) continue;
    spend(slot, node.on() ? per_block(node.apply_us, node.apply_tx_us, block_txs(e))
                          : per_tx(apply_us, block_txs(e)));
    ++w.height;
    w.applied_tps = applied_tps_now(w) +
                    static_cast<double>(block_txs(e)) * 1e9 / static_cast<double>(load_window_ns);
    w.applied_at = events_.now();
  }
}

time_ns sim_cpu::message_half(std::uint64_t bytes, bool fitted) const {
  const bool node = fitted && profile_.node.on();
  const double us = (node ? profile_.node.message_us : profile_.message_us) +
                    static_cast<double>(bytes) / 1024.0 *
                        (node ? profile_.node.message_kib_us : profile_.message_kib_us);
  return static_cast<time_ns>(us * 500.0);
}

void sim_cpu::sent(std::uint32_t slot, const core::message& m) {
  if (on()) spend(slot, message_half(m.ByteSizeLong(), false));
}

time_ns sim_cpu::message_transit_ns(std::uint64_t bytes) const {
  if (!on() || !profile_.node.on()) return 0;
  const time_ns fitted = message_half(bytes, true), charged = message_half(bytes, false);
  return fitted > charged ? 2 * (fitted - charged) : 0;
}

void sim_cpu::received(std::uint32_t slot, const core::message& m) {
  if (!on()) return;
  time_ns ns = message_half(m.ByteSizeLong(), false);
  // An append's blocks are decoded and checked (hashes, Merkle root)
  // before the core takes them (chain_index::check_append). The node
  // costs' message line holds this already: it was fitted on appends.
  const double check_us = profile_.decode_us + profile_.sha256_us + profile_.merkle_us;
  if (!profile_.node.on()) {
    for (const core::entry& e : m.entries()) ns += per_tx(check_us, block_txs(e));
  }
  spend(slot, ns);
}

time_ns sim_cpu::part_extra_ns(std::uint32_t parts) const {
  const node_costs& node = profile_.node;
  if (!on() || !node.on() || parts < 2) return 0;
  return static_cast<time_ns>(node.part_us * 1000.0 * parts);
}

time_ns sim_cpu::write_extra_ns(std::uint32_t slot, std::uint64_t bytes, rng& r) const {
  const node_costs& node = profile_.node;
  if (!on() || !node.on()) return 0;
  const runtime::node* n = watched_[slot].node;
  const bool leader = n != nullptr && n->consensus().get_status().role == core::role::leader;
  const node_costs::line l = node.write_line(leader);
  double us = l.at_zero + static_cast<double>(bytes) / 1024.0 * l.per_kib +
              (l.per_load != 0 ? host_load(slot) * l.per_load : 0.0);
  if (!l.spread->empty()) us *= sample_quantiles(*l.spread, r);
  return static_cast<time_ns>(std::max(0.0, us) * 1000.0);
}

double sim_cpu::applied_tps_now(const watched& w) const {
  if (w.applied_tps == 0) return 0;
  const double age = static_cast<double>(events_.now() - w.applied_at);
  return w.applied_tps * std::exp(-age / static_cast<double>(load_window_ns));
}

double sim_cpu::host_load(std::uint32_t slot) const {
  if (host_.empty()) {
    return applied_tps_now(watched_[slot]) / 1000.0 / std::max<std::uint32_t>(profile_.cores, 1);
  }
  double tps = 0;
  for (const watched& w : watched_) tps += applied_tps_now(w);
  return tps / 1000.0 / static_cast<double>(host_.size());
}

void sim_cpu::submitted(std::uint32_t slot, std::size_t txs) {
  if (!on()) return;
  // The request in and the answer out, each transaction decoded and
  // hashed (the mempool and the answer know transactions by hash).
  spend(slot, 2 * message_half(txs * profile_.tx_bytes, false) +
                  per_tx(profile_.decode_us + profile_.sha256_us, txs));
}

void sim_cpu::spend(std::uint32_t slot, time_ns ns) {
  spent_[slot] += stretched(ns);
  use_[slot].loop_ns += ns;
}

time_ns sim_cpu::verify_ns(std::uint32_t slot, std::size_t txs) {
  const time_ns ns = per_tx(profile_.verify_us, txs);
  use_[slot].verify_ns += ns;
  ++use_[slot].verify_jobs;
  if (host_.empty()) return stretched(ns);
  // On a shared machine the check waits for a core: its time is the wait
  // plus the work.
  const time_ns start = now(slot);
  time_ns& core = *std::min_element(host_.begin(), host_.end());
  core = std::max(core, start) + stretched(ns);
  return core - start;
}

}  // namespace ringchain::dst
