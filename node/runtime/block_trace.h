// The block trace: the leader's record of every block it proposed, one JSON
// object a line in <data_dir>/trace.jsonl (fields in docs/ARCHITECTURE.md,
// "The block trace"). The node writes it; the reports read it and write it
// again inside report.json: all three go through block_record's one JSON
// mapping (to_json and from_json below).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/base/result.h"

namespace ringchain::runtime {

// One block as its leader saw it. Times are CLOCK_MONOTONIC microseconds,
// comparable between processes of one machine (simulated time in sim/dst).
struct block_record {
  // The leader that proposed it, and the block's log index, height, term,
  // round, transactions and encoded bytes.
  std::uint64_t node = 0, index = 0, height = 0, term = 0, round = 0, txs = 0, bytes = 0;
  // Its round's start (the deadline counts from here) and when it was cut.
  std::uint64_t round_start_us = 0, cut_us = 0;
  // The leader's own write handed to the block log, and durable.
  std::uint64_t write_submitted_us = 0, barrier_done_us = 0;
  // Durable on a quorum (seen by the leader), and applied to its ledger.
  std::uint64_t committed_us = 0, applied_us = 0;
  // round_start_us + round_deadline_ms.
  std::uint64_t deadline_us = 0;
  // Whether committed_us is at or before deadline_us.
  bool deadline_met = false;
  // One follower's view of the block.
  struct follower {
    // The follower's node id.
    std::uint64_t id = 0;
    // The first append carrying the block sent, and acknowledged (0 when
    // it never was).
    std::uint64_t sent_us = 0, acked_us = 0;
    // The follower's own receive-to-durable time, from its acknowledgement.
    std::uint64_t persist_us = 0;
  };
  // Every follower an append carrying the block went to, in id order.
  std::vector<follower> followers;
};

// The JSON mapping of a block record (nlohmann's to_json/from_json, found
// by argument-dependent lookup). from_json throws nlohmann::json's
// exceptions on a missing or mistyped field.
void to_json(nlohmann::json& j, const block_record& r);
// Reads a record from `j`; a missing deadline_met is worked out from the
// times.
void from_json(const nlohmann::json& j, block_record& r);

// Parses one line of trace.jsonl.
base::result<block_record> parse_block_record(std::string_view line);

// The leader's timing of the blocks it proposed, by log index, written to
// the trace once every follower acknowledged the block, or a second after
// commit for a follower that is slow or down (its acknowledgement then
// reads 0).
class block_trace {
 public:
  // `cluster_size` counts this node; deadlines are round_deadline_ms.
  block_trace(std::uint64_t node_id, std::size_t cluster_size, std::uint32_t round_deadline_ms);

  // Opens (appends to) the trace file.
  base::status open(const std::filesystem::path& file);

  // A block was proposed at log index r.index: starts its record (node,
  // height, term, round, txs, bytes, round_start_us and cut_us set).
  void proposed(block_record r);
  // The leader's write of entry `index` was handed to storage at now_us;
  // the block's transaction count, or nothing when it is not traced.
  std::optional<std::uint64_t> write_submitted(std::uint64_t index, std::uint64_t now_us);
  // Entries first..last of the leader's log are durable on its disk.
  void barrier_done(std::uint64_t first, std::uint64_t last, std::uint64_t now_us);
  // An append carrying entry `index` left for follower `to`.
  void sent(std::uint64_t index, std::uint64_t to, std::uint64_t now_us);
  // Follower `from` acknowledged everything up to `index`, with its own
  // receive-to-durable time `persist_us`.
  void acked(std::uint64_t from, std::uint64_t index, std::uint64_t persist_us,
             std::uint64_t now_us);
  // Entry `index` was seen committed at committed_us and applied at
  // applied_us.
  void applied(std::uint64_t index, std::uint64_t committed_us, std::uint64_t applied_us);

  // Writes the records that are complete (every one of them with `all`).
  void flush(std::uint64_t now_us, bool all);
  // Writes what is complete and forgets the rest (leadership was lost).
  void drop_pending(std::uint64_t now_us);
  // Called with every record as it is written (the node's metrics).
  void on_written(std::function<void(const block_record&)> f) { on_written_ = std::move(f); }

 private:
  void write(const block_record& r);

  std::uint64_t node_id_;
  std::size_t cluster_size_;
  std::uint64_t deadline_us_;
  std::map<std::uint64_t, block_record> pending_;
  std::ofstream file_;
  std::function<void(const block_record&)> on_written_;
};

}  // namespace ringchain::runtime
