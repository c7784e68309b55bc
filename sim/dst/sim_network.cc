#include "sim/dst/sim_network.h"

#include <algorithm>

namespace ringchain::dst {

sim_network::sim_network(sim_core& core, std::uint32_t nodes, const network_profile& profile,
                         const fault_mix& mix)
    : core_(core),
      n_(nodes),
      profile_(profile),
      mix_(mix),
      cuts_(nodes * nodes, 0),
      clogs_(nodes * nodes, 0),
      last_arrival_(nodes * nodes, 0),
      egress_free_(nodes, 0) {}

void sim_network::send(std::uint32_t from, const core::message& m) {
  const std::uint64_t to_id = m.to();
  if (to_id == 0 || to_id > n_) return;
  const auto to = static_cast<std::uint32_t>(to_id - 1);
  hooks_.sending(from, m);
  // Encoding and sending take the sender's CPU first.
  core_.cpu.sent(from, m);
  if (!hooks_.up(to) || cuts_[from * n_ + to] > 0) return;
  rng& r = core_.random;
  if (r.chance(mix_.loss)) return;
  const int copies = r.chance(mix_.duplicate) ? 2 : 1;
  // The message occupies its sender's link for bytes / bandwidth.
  const double bytes = static_cast<double>(m.ByteSizeLong() + 64);
  time_ns& egress = egress_free_[from];
  const time_ns start = std::max(core_.cpu.now(from), egress);
  egress = start + static_cast<time_ns>(bytes * 8 / profile_.gbit_per_s);
  // The node costs' message line beyond the loops' CPU: latency.
  const time_ns transit = core_.cpu.message_transit_ns(m.ByteSizeLong());
  for (int k = 0; k < copies; ++k) {
    time_ns at =
        egress + profile_.between(from + 1, to_id).sample_ns(r) + clogs_[from * n_ + to] + transit;
    time_ns& last = last_arrival_[from * n_ + to];
    if (!mix_.reorder) at = std::max(at, last);
    last = std::max(last, at);
    core_.events.schedule(to, at, [this, to, m] { deliver(to, m); });
  }
}

void sim_network::deliver(std::uint32_t to, const core::message& m) {
  trace_hash& h = core_.hash;
  h.add(0x6d);
  h.add(static_cast<std::uint64_t>(m.type()));
  h.add(m.from());
  h.add(m.term());
  h.add(m.index());
  hooks_.deliver(to, m);
}

void sim_network::clog(std::uint32_t from, std::uint32_t to, time_ns extra, bool add) {
  time_ns& c = clogs_[from * n_ + to];
  c = add ? c + extra : c - extra;
}

void sim_network::heal() {
  std::fill(cuts_.begin(), cuts_.end(), 0);
  std::fill(clogs_.begin(), clogs_.end(), 0);
}

}  // namespace ringchain::dst
