// Every limit of ringchain, in one place.
//
// Each bound is a named constant ending in `_max`. Configuration may lower a
// bound, never raise it, and there is no "0 means unlimited": a queue, buffer
// or message that has no bound here does not exist. Related limits are tied
// together by static_asserts so that a change to one cannot silently break
// another.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringchain::limits {

inline constexpr std::uint64_t kib = 1024;
inline constexpr std::uint64_t mib = 1024 * kib;

// Cluster size. 101 covers the largest simulated experiments.
inline constexpr std::size_t peers_max = 128;

// Size of one entry's payload (a block plus its header, encoded).
inline constexpr std::uint64_t entry_bytes_max = 4 * mib;

// Payload bytes of entries carried by one MSG_APPEND. One entry larger than
// this still travels alone, so the bound is at least entry_bytes_max.
inline constexpr std::uint64_t append_bytes_max = 8 * mib;

// Entries carried by one MSG_APPEND.
inline constexpr std::size_t append_entries_max = 1024;

// Appends in flight to one follower before the leader waits for
// acknowledgements (the replication pipeline).
inline constexpr std::size_t inflight_appends_max = 256;

// Payload bytes in flight to one follower.
inline constexpr std::uint64_t inflight_bytes_max = 64 * mib;

// Entries the leader holds that are not yet committed; proposals beyond this
// are refused so that a stalled quorum cannot grow the log without bound.
inline constexpr std::size_t uncommitted_entries_max = 4096;
inline constexpr std::uint64_t uncommitted_bytes_max = 256 * mib;

// Responses a node holds back until its storage reports the state they
// depend on as durable. Past this, new responses are dropped (Raft
// tolerates lost messages) and counted.
inline constexpr std::size_t held_messages_max = 4096;

// Messages the core queues between two Ready batches. Past this, messages
// are dropped and counted; replication recovers through heartbeats.
inline constexpr std::size_t outbox_messages_max = 16384;

// Ready batches handed to storage and not yet reported durable.
inline constexpr std::size_t persists_inflight_max = 1024;

// Election timeout in ticks; the heartbeat interval must be shorter.
inline constexpr std::uint32_t election_ticks_max = 10000;

// A transaction's payload (an encoded key-value write).
inline constexpr std::uint64_t tx_payload_bytes_max = 64 * kib;

// Transactions of one block, and their encoded bytes (payload, sender,
// nonce and signature each).
inline constexpr std::size_t block_txs_max = 16384;
inline constexpr std::uint64_t block_bytes_max = 3 * mib;

// Transactions and bytes waiting in a node's mempool; past these, clients
// are told to back off.
inline constexpr std::size_t mempool_txs_max = 200000;
inline constexpr std::uint64_t mempool_bytes_max = 128 * mib;

// One frame on the wire: a whole MSG_APPEND plus its envelope.
inline constexpr std::uint64_t frame_size_max = 16 * mib;

// One write to the block log: the records of one Ready (its entries and
// hard state), made durable by one barrier. Recovery treats damage within
// the last write_bytes_max bytes of the log as a torn final write.
inline constexpr std::uint64_t write_bytes_max = 16 * mib;

// One record of the block log (an entry or the hard state, framed).
inline constexpr std::uint64_t record_bytes_max = entry_bytes_max + 64 * kib;

// Writes to the block log start on a page boundary, so no page is shared by
// two writes (a barrier never rewrites the previous write's last page).
inline constexpr std::uint64_t write_alignment_bytes = 4096;

// One segment file of the block log, preallocated when created.
inline constexpr std::uint64_t segment_bytes_max = 256 * mib;

static_assert(entry_bytes_max <= append_bytes_max, "an entry must fit in one append");
static_assert(append_bytes_max + 1 * mib <= frame_size_max,
              "an append with its message envelope must fit in one frame");
static_assert(append_bytes_max <= inflight_bytes_max,
              "one append must fit in the in-flight window");
static_assert(block_bytes_max + block_txs_max * 8 + kib <= entry_bytes_max,
              "a full block (transactions, their framing, the header) fits in one entry");
static_assert(record_bytes_max <= write_bytes_max, "a record must fit in one write");
static_assert(write_bytes_max <= segment_bytes_max, "a write must fit in one segment");
static_assert(entry_bytes_max <= uncommitted_bytes_max,
              "one entry must fit in the uncommitted window");

}  // namespace ringchain::limits
