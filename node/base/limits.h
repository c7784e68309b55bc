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

// A kibibyte (1024 bytes); with mib, the units of the byte bounds below.
inline constexpr std::uint64_t kib = 1024;
// A mebibyte: 1024 kibibytes.
inline constexpr std::uint64_t mib = 1024 * kib;

// Cluster size of a real node: the peers its configuration lists and it
// connects to over TCP.
inline constexpr std::size_t peers_max = 128;

// Voters of one consensus group (node/core). Real nodes stay within
// peers_max through their configuration; the simulator runs larger
// clusters of real nodes in one process, up to sim_nodes_max (1,001 nodes
// across three regions is its largest experiment).
inline constexpr std::size_t voters_max = 1024;
// Nodes of one simulated cluster (sim/dst), within voters_max.
inline constexpr std::size_t sim_nodes_max = 1024;

// Members (voters and learners) of one consensus group: membership changes
// may add learners up to this many members in all.
inline constexpr std::size_t members_max = voters_max;
// A learner is promoted to voter only when its log is at most this many
// entries behind the leader's: a voter that still has to catch up would
// add nothing to the quorum and might cost it one (Raft thesis §4.2.1).
inline constexpr std::uint64_t promote_lag_entries_max = 64;
// Length of each address a membership change carries ("host:port").
inline constexpr std::size_t member_address_bytes_max = 256;

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
// Payload bytes of those uncommitted entries, with the same refusal past it.
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

// Transactions of one block.
inline constexpr std::size_t block_txs_max = 16384;
// Encoded bytes of one block's transactions (payload, sender, nonce and
// signature each).
inline constexpr std::uint64_t block_bytes_max = 3 * mib;

// Transactions waiting in a node's mempool; past this, clients are told to
// back off.
inline constexpr std::size_t mempool_txs_max = 200000;
// Bytes waiting in a node's mempool; past this, clients are told to back
// off.
inline constexpr std::uint64_t mempool_bytes_max = 128 * mib;

// One frame on the wire: a whole MSG_APPEND plus its envelope.
inline constexpr std::uint64_t frame_size_max = 16 * mib;

// Connections each port holds at once. The peer port: one per peer, with
// room for re-dials.
inline constexpr std::size_t peer_connections_max = 2 * peers_max;
// Connections the client port holds at once.
inline constexpr std::size_t client_connections_max = 1024;
// Connections the admin port (loopback, for operators) holds at once.
inline constexpr std::size_t admin_connections_max = 16;
// Connections of all ports together.
inline constexpr std::size_t connections_max =
    peer_connections_max + client_connections_max + admin_connections_max;

// One frame on the client and admin ports: a submit request of
// submit_txs_max small transactions, or a status or block query.
inline constexpr std::uint64_t client_frame_bytes_max = 4 * mib;

// Transactions of one submit request; more is refused as a whole.
inline constexpr std::size_t submit_txs_max = 1024;

// Bytes of frames not yet complete, buffered across every connection: a
// connection whose partial frame would pass this is closed.
inline constexpr std::uint64_t partial_frame_bytes_total_max = 256 * mib;

// Bytes queued for one peer: a slow peer's messages are dropped past it.
inline constexpr std::uint64_t peer_send_bytes_max = 64 * mib;
// Bytes queued for one client: a client that does not read is
// disconnected.
inline constexpr std::uint64_t client_send_bytes_max = 8 * mib;
// Bytes queued for all clients together.
inline constexpr std::uint64_t client_send_bytes_total_max = 256 * mib;

// Signature-check batches waiting, in all.
inline constexpr std::size_t verify_jobs_max = 256;
// Signature-check batches waiting for one connection: a client that sends
// batch after batch waits its turn instead of holding the verifier.
inline constexpr std::size_t verify_jobs_per_connection_max = 8;
// Transactions one signature-check batch carries at most: bigger
// submissions are checked as several batches, others' batches between.
inline constexpr std::size_t verify_batch_txs_max = 256;

// Consensus messages a follower holds while the signatures of an append
// ahead of them are checked (verify_follower_signatures); past this they
// are dropped (Raft resends).
inline constexpr std::size_t held_inputs_max = 4096;

// Messages held by the network emulation's delay on one link; past this
// they are dropped (and counted).
inline constexpr std::size_t emulated_messages_max = 65536;
// The emulation's delay and jitter on one link.
inline constexpr std::uint32_t emulated_delay_ms_max = 60'000;

// How long a connection may hold a partial frame without completing it
// before it is closed.
inline constexpr std::uint32_t frame_stall_timeout_ms_max = 10'000;
// How long a new connection may stay silent, before its first frame, until
// it is closed.
inline constexpr std::uint32_t first_frame_timeout_ms_max = 5'000;
// How long a connection may stay idle (no frame in or out) before it is
// closed.
inline constexpr std::uint32_t client_idle_timeout_ms_max = 300'000;

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

// Snapshots and compaction (Raft §7). A core asks for a snapshot of the
// state every snapshot_interval_entries applied entries or
// snapshot_interval_bytes of their payload, whichever comes first; once it
// is durable the core drops its log up to the snapshot, but keeps up to
// snapshot_catchup_entries (and snapshot_catchup_bytes) behind it, so that
// a follower a little behind catches up from the log instead of a
// snapshot.
inline constexpr std::uint64_t snapshot_interval_entries_max = 100'000;
// The largest snapshot_interval_bytes a config may set.
inline constexpr std::uint64_t snapshot_interval_bytes_max = 1024 * mib;
// The most entries a config may keep behind a snapshot for catch-up.
inline constexpr std::uint64_t snapshot_catchup_entries_max = 100'000;
// The most payload bytes a config may keep behind a snapshot for catch-up.
inline constexpr std::uint64_t snapshot_catchup_bytes_max = 256 * mib;

// The consensus log one core holds in memory, entries and payload bytes:
// what is kept behind the last snapshot, what was applied since, and the
// uncommitted tail. A leader refuses proposals and a follower takes no
// more of an append at this bound (a new leader's empty entry may pass it
// by one); compaction keeps the log below it in steady state.
inline constexpr std::uint64_t log_entries_in_memory_max = 262'144;
// The payload bytes of that log, at most.
inline constexpr std::uint64_t log_bytes_in_memory_max = 2048 * mib;

// One record of a snapshot file (node/storage/snapshot_file.h): a part of
// the state, a batch of key-value pairs and nonces. A snapshot is written
// and loaded a few records per step of the node's loop; the writer aims at
// snapshot_part_bytes per record (a single large pair may pass it, up to
// the record bound), so a step stays under a millisecond of CPU.
inline constexpr std::uint64_t snapshot_record_bytes_max = 128 * kib;
// What the writer aims at per record (see above).
inline constexpr std::uint64_t snapshot_part_bytes = 32 * kib;

// One chunk of a snapshot on its way to a follower (the follower loads it
// in one step), and the chunks a leader sends ahead of the follower's
// durable acknowledgement.
inline constexpr std::uint64_t snapshot_chunk_bytes_max = 64 * kib;
// Chunks sent ahead of the follower's durable acknowledgement, at most.
inline constexpr std::size_t snapshot_chunks_inflight_max = 16;

// Snapshot transfers a leader runs at once (one per follower at most), and
// the silent timeouts a transfer survives before the leader gives up and
// its core asks again later.
inline constexpr std::size_t snapshot_transfers_max = peers_max;
// Silent timeouts one transfer survives before the leader gives it up.
inline constexpr std::uint32_t snapshot_transfer_retries_max = 5;

// Blocks a node keeps for queries without `archive` (node/storage/
// block_store.h). They live on disk; only the list of files is in memory.
inline constexpr std::uint64_t blocks_kept_max = 1'000'000'000;
// Blocks applied but not yet handed to the block store's writer: past this
// the store starts a write at once rather than waiting for the next flush.
inline constexpr std::uint64_t block_store_pending_bytes_max = 4 * mib;

// Transactions in a node's index of recent transactions (transaction hash
// -> the height it committed at), which answers clients' lookups by hash
// (node/runtime/tx_index.h). The index holds the newest applied blocks
// whose transactions fit; older blocks leave it whole, oldest first. About
// 100 bytes a transaction (the hash twice and a hash-table node): 26 MiB
// at most.
inline constexpr std::size_t tx_index_txs_max = 262'144;
// A key in a lookup request: no longer than a transaction's payload, which
// holds the key.
inline constexpr std::uint64_t lookup_key_bytes_max = tx_payload_bytes_max;

// Snapshot files a node keeps: the newest and the one before it, so that a
// damaged newest one can be refused and the older one used (its log tail
// is kept on disk with it).
inline constexpr std::size_t snapshots_kept = 2;

static_assert(peers_max <= voters_max, "a real node's cluster is a consensus group");
static_assert(sim_nodes_max <= voters_max, "a simulated cluster is a consensus group");
static_assert(entry_bytes_max <= append_bytes_max, "an entry must fit in one append");
static_assert(snapshot_interval_entries_max + snapshot_catchup_entries_max +
                      uncommitted_entries_max <=
                  log_entries_in_memory_max,
              "a log between two snapshots, with its catch-up entries and uncommitted tail, "
              "fits in memory");
static_assert(snapshot_interval_bytes_max + snapshot_catchup_bytes_max + uncommitted_bytes_max <=
                  log_bytes_in_memory_max,
              "a log between two snapshots, with its catch-up entries and uncommitted tail, "
              "fits in memory");
static_assert(entry_bytes_max <= log_bytes_in_memory_max, "one entry fits in the log");
static_assert(tx_payload_bytes_max + snapshot_part_bytes + kib <= snapshot_record_bytes_max,
              "a part that ends with the largest key-value pair fits in a snapshot record");
static_assert(snapshot_record_bytes_max <= record_bytes_max, "snapshot records are records");
static_assert(snapshot_chunk_bytes_max + 64 * kib <= frame_size_max,
              "a snapshot chunk with its message envelope fits in one frame");
static_assert(snapshot_chunk_bytes_max * snapshot_chunks_inflight_max <= peer_send_bytes_max,
              "the chunks in flight fit in a peer's send queue");
static_assert(snapshots_kept >= 2, "a damaged newest snapshot needs an older one to fall back to");
static_assert(append_bytes_max + 1 * mib <= frame_size_max,
              "an append with its message envelope must fit in one frame");
static_assert(append_bytes_max <= inflight_bytes_max,
              "one append must fit in the in-flight window");
static_assert(block_bytes_max + block_txs_max * 8 + kib <= entry_bytes_max,
              "a full block (transactions, their framing, the header) fits in one entry");
static_assert(record_bytes_max <= write_bytes_max, "a record must fit in one write");
static_assert(block_store_pending_bytes_max + record_bytes_max <= write_bytes_max,
              "a block store write (pending blocks and one more) fits in one write");
static_assert(client_frame_bytes_max <= frame_size_max, "client frames are frames");
static_assert(block_bytes_max + 64 * kib <= client_frame_bytes_max,
              "a block answer (a query for a full block) fits in a client frame");
static_assert(client_send_bytes_max >= 2 * client_frame_bytes_max,
              "a client's queue holds at least two answers");
static_assert(tx_index_txs_max >= block_txs_max,
              "the index of recent transactions holds at least one full block");
static_assert(tx_payload_bytes_max + lookup_key_bytes_max + 64 * kib <= client_frame_bytes_max,
              "a lookup answer (the largest value) and its request fit in a client frame");
static_assert(verify_jobs_per_connection_max <= verify_jobs_max, "a share fits in the whole");
static_assert(write_bytes_max <= segment_bytes_max, "a write must fit in one segment");
static_assert(entry_bytes_max <= uncommitted_bytes_max,
              "one entry must fit in the uncommitted window");

}  // namespace ringchain::limits
