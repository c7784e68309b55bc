// Writes the seed corpus of the fuzz targets: small valid inputs of each
// kind, in the input formats the targets' comments describe.
//
//   build/tests/fuzz/make_fuzz_corpus tests/fuzz/corpus
//
// (any build directory; the program is built in every configuration). It
// writes the same bytes every time: keys come from a fixed seed, Ed25519
// signatures are deterministic, and timestamps are fixed. The block log
// seed is written by the real block log (epoll backend) and cut after its
// last non-zero byte.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "node/base/limits.h"
#include "node/io/reactor.h"
#include "node/net/frame.h"
#include "node/storage/block_log.h"
#include "node/storage/record.h"
#include "proto/node.pb.h"
#include "proto/storage.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
using namespace ringchain;

fs::path out_dir;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = out_dir / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string u_le(std::uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

std::string frame(const google::protobuf::MessageLite& m) {
  std::string out;
  if (!net::append_frame(m, limits::frame_size_max, &out)) std::abort();
  return out;
}

nodepb::PeerFrame hello(std::uint64_t from) {
  nodepb::PeerFrame f;
  f.set_hello_from(from);
  return f;
}

nodepb::PeerFrame raft(raftpb::MessageType type, std::uint64_t from, std::uint64_t term) {
  nodepb::PeerFrame f;
  raftpb::Message& m = *f.mutable_raft();
  m.set_type(type);
  m.set_from(from);
  m.set_to(1);
  m.set_term(term);
  return f;
}

// The blocks of heights 1..3 the peer target's restored log holds.
std::vector<chain::block> chain_of(int n) {
  std::vector<chain::block> out;
  chain::hash prev{};
  for (int h = 1; h <= n; ++h) {
    out.push_back(
        fuzz::test_block(static_cast<std::uint64_t>(h), prev, 1, static_cast<std::uint64_t>(h)));
    prev = chain::header_hash(out.back().header());
  }
  return out;
}

void frame_reader_seeds() {
  nodepb::PeerFrame append = raft(raftpb::MSG_APPEND, 2, 1);
  raftpb::Entry* e = append.mutable_raft()->add_entries();
  e->set_term(1);
  e->set_index(1);
  e->set_data(chain_of(1)[0].SerializeAsString());
  const std::string stream = frame(hello(2)) + frame(append);
  // frame_size_max, chunks of 1, 5 and the rest.
  put("fuzz_frame_reader", "two_frames",
      u_le(0xffff, 2) + u_le(3, 1) + "\x01\x05" + std::string(1, '\0') + stream);
  // A bound of 1000 bytes, fed a byte at a time.
  put("fuzz_frame_reader", "bytewise", u_le(1000, 2) + u_le(1, 1) + "\x01" + stream);
  // A bound of 16 bytes: a frame of 10, then a header announcing 100.
  put("fuzz_frame_reader", "too_large",
      u_le(16, 2) + u_le(1, 1) + "\x03" + u_le(10, 4) + std::string(10, 'x') + u_le(100, 4));
}

void peer_message_seeds() {
  const std::vector<chain::block> blocks = chain_of(3);
  // A fresh follower: a hello, an append of block 1 committing it, a
  // heartbeat.
  nodepb::PeerFrame append = raft(raftpb::MSG_APPEND, 2, 1);
  append.mutable_raft()->set_commit(1);
  raftpb::Entry* e = append.mutable_raft()->add_entries();
  e->set_term(1);
  e->set_index(1);
  e->set_data(blocks[0].SerializeAsString());
  nodepb::PeerFrame heartbeat = raft(raftpb::MSG_HEARTBEAT, 2, 1);
  heartbeat.mutable_raft()->set_commit(1);
  put("fuzz_peer_message", "hello_append",
      std::string(1, '\0') + frame(hello(2)) + frame(append) + frame(heartbeat));
  // The follower with three entries (terms 1, 1, 2): an append of term 3
  // after entry 3 that commits everything.
  nodepb::PeerFrame next = raft(raftpb::MSG_APPEND, 3, 3);
  next.mutable_raft()->set_index(3);
  next.mutable_raft()->set_log_term(2);
  next.mutable_raft()->set_commit(4);
  e = next.mutable_raft()->add_entries();
  e->set_term(3);
  e->set_index(4);
  e->set_type(raftpb::ENTRY_EMPTY);
  put("fuzz_peer_message", "append_after_log",
      std::string(1, '\x01') + frame(hello(3)) + frame(next));
  // The leader of term 3 (entries 1..3 and its empty entry 4): node 2
  // acknowledges everything, then answers a heartbeat; check-quorum on,
  // ticks after each message.
  nodepb::PeerFrame ack = raft(raftpb::MSG_APPEND_RESPONSE, 2, 3);
  ack.mutable_raft()->set_index(4);
  put("fuzz_peer_message", "leader_acks",
      std::string(1, '\x2a') + frame(hello(2)) + frame(ack) +
          frame(raft(raftpb::MSG_HEARTBEAT_RESPONSE, 2, 3)));
  // The same leader proposing a block after each message: node 2
  // acknowledges, node 3 rejects with a hint.
  nodepb::PeerFrame reject = raft(raftpb::MSG_APPEND_RESPONSE, 3, 3);
  reject.mutable_raft()->set_index(3);
  reject.mutable_raft()->set_reject(true);
  reject.mutable_raft()->set_reject_hint(2);
  reject.mutable_raft()->set_hint_term(1);
  nodepb::PeerFrame ack5 = ack;
  ack5.mutable_raft()->set_index(5);
  put("fuzz_peer_message", "leader_proposes",
      std::string(1, '\x42') + frame(hello(2)) + frame(ack) + frame(ack5));
  put("fuzz_peer_message", "leader_rejected",
      std::string(1, '\x42') + frame(hello(3)) + frame(reject));
  // The follower with a log, pre-vote on: a pre-vote and a vote from 3.
  nodepb::PeerFrame pre = raft(raftpb::MSG_PRE_VOTE, 3, 3);
  pre.mutable_raft()->set_index(3);
  pre.mutable_raft()->set_log_term(2);
  nodepb::PeerFrame vote = pre;
  vote.mutable_raft()->set_type(raftpb::MSG_VOTE);
  put("fuzz_peer_message", "votes",
      std::string(1, '\x05') + frame(hello(3)) + frame(pre) + frame(vote));
  // A candidate of term 1 that node 2 votes for, storage lagging.
  put("fuzz_peer_message", "candidate_wins",
      std::string(1, '\x13') + frame(hello(2)) + frame(raft(raftpb::MSG_VOTE_RESPONSE, 2, 1)));
}

void client_request_seeds() {
  nodepb::ClientRequest submit;
  submit.set_id(7);
  // Nonces above those of the two committed blocks (2..5).
  for (std::uint64_t nonce = 10; nonce <= 11; ++nonce) {
    *submit.mutable_submit()->add_txs() =
        chain::make_transaction(fuzz::test_key(), nonce, "k" + std::to_string(nonce), "v");
  }
  put("fuzz_client_request", "submit_two", submit.SerializeAsString());
  nodepb::ClientRequest status;
  status.set_id(1);
  status.mutable_status();
  put("fuzz_client_request", "status", status.SerializeAsString());
  nodepb::ClientRequest block;
  block.set_id(2);
  block.mutable_block()->set_height(1);
  put("fuzz_client_request", "block", block.SerializeAsString());
  nodepb::ClientRequest admin;
  admin.set_id(3);
  admin.mutable_admin()->set_barrier_delay_us(500);
  put("fuzz_client_request", "admin", admin.SerializeAsString());
}

void block_seeds() {
  const std::vector<chain::block> blocks = chain_of(2);
  put("fuzz_block", "height_1", blocks[0].SerializeAsString());
  put("fuzz_block", "height_2", blocks[1].SerializeAsString());
  put("fuzz_block", "three_txs", fuzz::test_block(1, chain::hash{}, 3, 7).SerializeAsString());
  put("fuzz_block", "empty", fuzz::test_block(1, chain::hash{}, 0, 0).SerializeAsString());
}

raftpb::Entry entry(std::uint64_t term, std::uint64_t index, const chain::block& b) {
  raftpb::Entry e;
  e.set_term(term);
  e.set_index(index);
  e.set_data(b.SerializeAsString());
  return e;
}

// Two appends through the real block log; the segment's bytes up to its
// last non-zero one.
std::string block_log_bytes() {
  const fs::path dir =
      fs::temp_directory_path() / ("ringchain-corpus-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  base::result<std::unique_ptr<io::reactor>> reactor = io::reactor::create(io::backend::epoll, {});
  if (!reactor.ok()) std::abort();
  storage::block_log_options opts;
  opts.dir = dir;
  opts.segment_bytes = limits::write_bytes_max;
  std::string bytes;
  {
    base::result<std::unique_ptr<storage::block_log>> log =
        storage::block_log::open(**reactor, opts);
    if (!log.ok()) {
      std::cerr << log.message() << "\n";
      std::abort();
    }
    const std::vector<chain::block> blocks = chain_of(3);
    int done = 0;
    raftpb::HardState hs;
    hs.set_term(1);
    hs.set_vote(1);
    std::vector<raftpb::Entry> first = {entry(1, 1, blocks[0]), entry(1, 2, blocks[1])};
    (*log)->append(&hs, first, 2, [&](int r) { done += r == 0 ? 1 : 100; });
    while (done < 1) (*reactor)->run_once(std::chrono::milliseconds(10));
    hs.set_commit(2);
    std::vector<raftpb::Entry> second = {entry(1, 3, blocks[2])};
    (*log)->append(&hs, second, 1, [&](int r) { done += r == 0 ? 1 : 100; });
    while (done < 2) (*reactor)->run_once(std::chrono::milliseconds(10));
    if (done != 2) std::abort();
    std::ifstream in(storage::segment_path(dir, 1), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove_all(dir);
  bytes.resize(bytes.find_last_not_of('\0') + 1);
  return bytes;
}

// One write framed by hand (record.h), as the block log frames it.
std::string write_of(std::uint64_t seq, const std::vector<storagepb::LogRecord>& records) {
  std::string body;
  for (const auto& r : records) storage::append_record(r.SerializeAsString(), &body);
  storagepb::LogRecord header;
  header.mutable_write_begin()->set_seq(seq);
  header.mutable_write_begin()->set_bytes(body.size());
  std::string out;
  storage::append_record(header.SerializeAsString(), &out);
  return out + body;
}

void recovery_seeds() {
  const std::string log = block_log_bytes();
  // One segment, padded to a page, checksums repaired (they are right);
  // split unused.
  put("fuzz_recovery", "block_log_two_writes", std::string(1, '\x0a') + u_le(0, 3) + log);
  put("fuzz_recovery", "block_log_sparse", std::string(1, '\x06') + u_le(0, 3) + log);
  // The second write torn in the middle.
  const std::size_t second = log.rfind(std::string(8, '\0')) + 8;
  const std::size_t torn = (second + log.size()) / 2;
  put("fuzz_recovery", "torn_second_write",
      std::string(1, '\0') + u_le(0, 3) + log.substr(0, torn));
  // Two segments of one write each, written by hand.
  const std::vector<chain::block> blocks = chain_of(2);
  storagepb::LogRecord e1, e2, hs;
  *e1.mutable_entry() = entry(1, 1, blocks[0]);
  *e2.mutable_entry() = entry(2, 2, blocks[1]);
  hs.mutable_hard_state()->set_term(2);
  hs.mutable_hard_state()->set_commit(1);
  const std::string seg1 = write_of(1, {e1, hs});
  const std::string seg2 = write_of(2, {e2, hs});
  put("fuzz_recovery", "two_segments", std::string(1, '\x09') + u_le(seg1.size(), 3) + seg1 + seg2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_fuzz_corpus DIR (tests/fuzz/corpus)\n";
    return 2;
  }
  out_dir = argv[1];
  frame_reader_seeds();
  peer_message_seeds();
  client_request_seeds();
  block_seeds();
  recovery_seeds();
  std::cout << "wrote the seed corpus under " << out_dir.string() << "\n";
  return 0;
}
