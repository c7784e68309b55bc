#include "node/runtime/block_trace.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ringchain::runtime {

namespace {

// How long after commit a record waits for followers' acknowledgements.
constexpr std::uint64_t ack_wait_us = 1'000'000;

block_record::follower& follower_of(block_record& r, std::uint64_t id) {
  auto it =
      std::lower_bound(r.followers.begin(), r.followers.end(), id,
                       [](const block_record::follower& f, std::uint64_t v) { return f.id < v; });
  if (it == r.followers.end() || it->id != id) it = r.followers.insert(it, {id, 0, 0, 0});
  return *it;
}

}  // namespace

void to_json(nlohmann::json& j, const block_record& r) {
  j = nlohmann::json{{"node", r.node},
                     {"index", r.index},
                     {"height", r.height},
                     {"term", r.term},
                     {"round", r.round},
                     {"txs", r.txs},
                     {"bytes", r.bytes},
                     {"round_start_us", r.round_start_us},
                     {"cut_us", r.cut_us},
                     {"write_submitted_us", r.write_submitted_us},
                     {"barrier_done_us", r.barrier_done_us},
                     {"committed_us", r.committed_us},
                     {"applied_us", r.applied_us},
                     {"deadline_us", r.deadline_us},
                     {"deadline_met", r.deadline_met}};
  nlohmann::json fs = nlohmann::json::array();
  for (const auto& f : r.followers) {
    fs.push_back({{"id", f.id},
                  {"sent_us", f.sent_us},
                  {"acked_us", f.acked_us},
                  {"persist_us", f.persist_us}});
  }
  j["followers"] = std::move(fs);
}

void from_json(const nlohmann::json& j, block_record& r) {
  r = block_record{};
  j.at("node").get_to(r.node);
  j.at("index").get_to(r.index);
  j.at("height").get_to(r.height);
  j.at("term").get_to(r.term);
  j.at("round").get_to(r.round);
  j.at("txs").get_to(r.txs);
  j.at("bytes").get_to(r.bytes);
  j.at("round_start_us").get_to(r.round_start_us);
  j.at("cut_us").get_to(r.cut_us);
  j.at("write_submitted_us").get_to(r.write_submitted_us);
  j.at("barrier_done_us").get_to(r.barrier_done_us);
  j.at("committed_us").get_to(r.committed_us);
  j.at("applied_us").get_to(r.applied_us);
  j.at("deadline_us").get_to(r.deadline_us);
  r.deadline_met = j.value("deadline_met", r.committed_us <= r.deadline_us);
  for (const auto& f : j.at("followers")) {
    r.followers.push_back({f.at("id").get<std::uint64_t>(), f.at("sent_us").get<std::uint64_t>(),
                           f.at("acked_us").get<std::uint64_t>(),
                           f.at("persist_us").get<std::uint64_t>()});
  }
}

base::result<block_record> parse_block_record(std::string_view line) {
  try {
    return nlohmann::json::parse(line).get<block_record>();
  } catch (const nlohmann::json::exception& e) {
    return base::fail(std::string("not a block trace record: ") + e.what());
  }
}

block_trace::block_trace(std::uint64_t node_id, std::size_t cluster_size,
                         std::uint32_t round_deadline_ms)
    : node_id_(node_id),
      cluster_size_(cluster_size),
      deadline_us_(std::uint64_t{round_deadline_ms} * 1000) {}

base::status block_trace::open(const std::filesystem::path& file) {
  file_.open(file, std::ios::app);
  if (!file_) return base::fail("cannot open the block trace " + file.string());
  return {};
}

void block_trace::proposed(block_record r) {
  r.node = node_id_;
  pending_[r.index] = std::move(r);
}

std::optional<std::uint64_t> block_trace::write_submitted(std::uint64_t index,
                                                          std::uint64_t now_us) {
  auto it = pending_.find(index);
  if (it == pending_.end()) return std::nullopt;
  it->second.write_submitted_us = now_us;
  return it->second.txs;
}

void block_trace::barrier_done(std::uint64_t first, std::uint64_t last, std::uint64_t now_us) {
  for (auto it = pending_.lower_bound(first); it != pending_.end() && it->first <= last; ++it) {
    it->second.barrier_done_us = now_us;
  }
}

void block_trace::sent(std::uint64_t index, std::uint64_t to, std::uint64_t now_us) {
  auto it = pending_.find(index);
  if (it == pending_.end()) return;
  block_record::follower& f = follower_of(it->second, to);
  if (f.sent_us == 0) f.sent_us = now_us;
}

void block_trace::acked(std::uint64_t from, std::uint64_t index, std::uint64_t persist_us,
                        std::uint64_t now_us) {
  for (auto it = pending_.begin(); it != pending_.end() && it->first <= index; ++it) {
    auto& fs = it->second.followers;
    auto f = std::find_if(fs.begin(), fs.end(), [&](const auto& x) { return x.id == from; });
    if (f == fs.end() || f->acked_us != 0) continue;
    f->acked_us = now_us;
    f->persist_us = persist_us;
  }
}

void block_trace::applied(std::uint64_t index, std::uint64_t committed_us,
                          std::uint64_t applied_us) {
  auto it = pending_.find(index);
  if (it == pending_.end()) return;
  it->second.committed_us = committed_us;
  it->second.applied_us = applied_us;
}

void block_trace::flush(std::uint64_t now_us, bool all) {
  for (auto it = pending_.begin(); it != pending_.end() && it->second.committed_us != 0;) {
    const block_record& r = it->second;
    bool acked = r.followers.size() + 1 >= cluster_size_;
    for (const auto& f : r.followers) acked &= f.acked_us != 0;
    if (!all && !acked && now_us < r.committed_us + ack_wait_us) break;
    write(r);
    it = pending_.erase(it);
  }
}

void block_trace::drop_pending(std::uint64_t now_us) {
  flush(now_us, true);
  pending_.clear();
}

void block_trace::write(const block_record& r) {
  block_record out = r;
  out.deadline_us = r.round_start_us + deadline_us_;
  out.deadline_met = r.committed_us <= out.deadline_us;
  file_ << nlohmann::json(out).dump() << '\n';
  file_.flush();
  if (on_written_) on_written_(out);
}

}  // namespace ringchain::runtime
