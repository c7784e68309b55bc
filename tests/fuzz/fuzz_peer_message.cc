// Peer frames into a real consensus core, the way a node takes them.
//
// Input: one control byte, then the bytes of a peer connection: frames
// (a 4-byte little-endian length, then a nodepb::PeerFrame), reassembled by
// net::frame_reader. As tcp_peers does, the first frame must be a hello
// from a known peer and every later one a raft message from that peer;
// anything else closes the connection (the input ends there). Each raft
// message goes to core::raft::step() of node 1 of a 3-node cluster; a
// malformed one must come back as an input_error, never an assertion.
// Before the core, an append goes through the node's chain_index check (its
// entries must be blocks that chain), as node::receive does; what it
// refuses closes the connection too. After each message the Ready loop
// runs as node.cc runs it: entries are
// "persisted" (the storage completion is fed back at once, or after the
// next message), their data decoded as blocks as the per_tx write does,
// committed entries decoded and applied to a ledger as node::apply does,
// and advance(). A committed entry that is not a block linking to the
// ledger's tip would stop the node (node::apply's fatal error); with the
// append check in front of the core, no peer input may reach that.
//
// The control byte: bits 0-1 where node 1 starts (a fresh follower, a
// follower with a log of three blocks in terms 1, 1, 2, the leader of term
// 3 over that log, a candidate of term 1 waiting for votes), bit 2
// pre-vote, bit 3 check-quorum, bit 4 storage completions lag one message,
// bit 5 a tick after every message, bit 6 a proposal after every message
// (while leading: the next block of the chain, as the block producer cuts
// it), so that replication runs against what the fuzzer answers.
#include <deque>
#include <memory>
#include <vector>

#include "node/base/limits.h"
#include "node/chain/ledger.h"
#include "node/core/raft.h"
#include "node/net/frame.h"
#include "node/runtime/chain_index.h"
#include "proto/node.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace ringchain;

constexpr std::uint64_t self_id = 1;

// The encoded blocks of heights 1..3, for the restored log.
const std::vector<std::string>& chain_blocks() {
  static const std::vector<std::string> blocks = [] {
    std::vector<std::string> out;
    chain::hash prev{};
    for (std::uint64_t h = 1; h <= 3; ++h) {
      const chain::block b = fuzz::test_block(h, prev, 1, h);
      prev = chain::header_hash(b.header());
      out.push_back(b.SerializeAsString());
    }
    return out;
  }();
  return blocks;
}

class lone_node {
 public:
  explicit lone_node(std::uint8_t control)
      : lag_storage_(control & 0x10), tick_each_(control & 0x20), propose_each_(control & 0x40) {
    core::config cfg;
    cfg.id = self_id;
    cfg.voters = {1, 2, 3};
    cfg.pre_vote = control & 0x04;
    cfg.check_quorum = control & 0x08;
    cfg.random = [this](std::uint64_t bound) {
      random_ = random_ * 6364136223846793005ULL + 1442695040888963407ULL;
      return bound == 0 ? 0 : (random_ >> 33) % bound;
    };
    raft_ = std::make_unique<core::raft>(cfg);
    const int start = control & 0x03;
    if (start == 1 || start == 2) {
      std::vector<core::entry> entries;
      const std::uint64_t terms[] = {1, 1, 2};
      for (std::uint64_t i = 1; i <= 3; ++i) {
        core::entry e;
        e.set_term(terms[i - 1]);
        e.set_index(i);
        e.set_data(chain_blocks()[i - 1]);
        entries.push_back(std::move(e));
      }
      core::hard_state hs;
      hs.set_term(2);
      index_.record_log(entries);
      raft_->restore(hs, std::move(entries), 0);
    }
    if (start == 2 || start == 3) {
      // Campaign; the vote for itself counts once durable.
      raft_->campaign();
      if (raft_->get_status().role == core::role::pre_candidate) {
        step_ok(vote_response(raftpb::MSG_PRE_VOTE_RESPONSE, raft_->get_status().term + 1));
      }
      drain(false);
      if (start == 2) {
        step_ok(vote_response(raftpb::MSG_VOTE_RESPONSE, raft_->get_status().term));
        drain(false);
        FUZZ_CHECK(raft_->get_status().role == core::role::leader, "the setup elects node 1");
      }
    }
  }

  // One raft message from a peer; false when the node refused it (the
  // connection closes).
  bool receive(const raftpb::Message& m) {
    const core::status before = raft_->get_status();
    // node::receive: a leader's append must carry blocks that chain.
    if (m.type() == raftpb::MSG_APPEND && m.entries_size() > 0 && m.term() >= before.term &&
        !index_.check_append(m, raft_->log()).ok()) {
      return false;
    }
    const core::input_error err = raft_->step(m);
    if (err != core::input_error::none) {
      const core::status after = raft_->get_status();
      FUZZ_CHECK(after.term == before.term && after.role == before.role &&
                     after.last_index == before.last_index && after.committed == before.committed &&
                     after.vote == before.vote,
                 "a refused message changed the core");
      FUZZ_CHECK(core::to_string(err)[0] != '?', "an input_error without a name");
      return false;
    }
    if (tick_each_) raft_->tick();
    if (propose_each_) propose();
    drain(lag_storage_);
    return true;
  }

  // Runs the Ready loop until the core has nothing more; with `lag`, the
  // storage completion of the last write is held back until the next call.
  void drain(bool lag) {
    for (int rounds = 0; raft_->has_ready(); ++rounds) {
      FUZZ_CHECK(rounds < 1000, "the Ready loop does not settle");
      complete_storage();
      core::ready rd = raft_->take_ready();
      for (const core::entry& e : rd.entries) {
        // The per_tx write counts a block's transactions.
        chain::block b;
        if (e.type() == raftpb::ENTRY_NORMAL && b.ParseFromString(e.data())) {
          (void)b.txs_size();
        }
      }
      for (const core::message& m : rd.messages) {
        FUZZ_CHECK(m.from() == self_id && m.to() != self_id && m.to() >= 1 && m.to() <= 3,
                   "a message to a node that is not a peer");
        std::string frame;
        FUZZ_CHECK(net::append_frame(m, limits::frame_size_max, &frame),
                   "a message that does not fit in a frame");
      }
      for (const core::entry& e : rd.committed_entries) apply(e);
      if (rd.persist_seq != 0) pending_.push_back(rd.persist_seq);
      raft_->advance(rd);
      if (!lag) complete_storage();
    }
    if (!lag) complete_storage();
  }

 private:
  void complete_storage() {
    while (!pending_.empty()) {
      core::message done;
      done.set_type(raftpb::MSG_STORAGE_DONE);
      done.set_from(self_id);
      done.set_to(self_id);
      done.set_persist_seq(pending_.front());
      pending_.pop_front();
      step_ok(done);
    }
  }

  // As the block producer: a block after the last one proposed (or the
  // restored log's), empty so that no signing slows the run.
  void propose() {
    if (raft_->get_status().role != core::role::leader) return;
    if (proposed_height_ == 0) {
      proposed_height_ = 3;
      chain::block b;
      FUZZ_CHECK(b.ParseFromString(chain_blocks().back()), "the seed chain parses");
      proposed_tip_ = chain::header_hash(b.header());
    }
    const chain::block b = fuzz::test_block(proposed_height_ + 1, proposed_tip_, 0, 0);
    const core::proposal p = raft_->propose(b.SerializeAsString());
    if (p.result != core::proposal::code::accepted) return;
    ++proposed_height_;
    index_.record({p.index, p.term, proposed_height_, chain::header_hash(b.header())});
    proposed_tip_ = chain::header_hash(b.header());
  }

  // As node::apply: a committed entry that is not a block linking to the
  // ledger's tip stops the node.
  void apply(const core::entry& e) {
    if (e.type() != raftpb::ENTRY_NORMAL) return;
    chain::block b;
    FUZZ_CHECK(b.ParseFromString(e.data()), "a committed entry does not hold a block");
    const base::status s = ledger_.apply(b);
    FUZZ_CHECK(s.ok(), s.message().c_str());
  }

  raftpb::Message vote_response(raftpb::MessageType type, std::uint64_t term) const {
    raftpb::Message m;
    m.set_type(type);
    m.set_from(2);
    m.set_to(self_id);
    m.set_term(term);
    return m;
  }

  void step_ok(const raftpb::Message& m) {
    FUZZ_CHECK(raft_->step(m) == core::input_error::none, "a local message was refused");
  }

  std::uint64_t random_ = 1;
  bool lag_storage_;
  bool tick_each_;
  bool propose_each_;
  std::uint64_t proposed_height_ = 0;
  chain::hash proposed_tip_{};
  std::unique_ptr<core::raft> raft_;
  std::deque<std::uint64_t> pending_;
  chain::ledger ledger_;
  runtime::chain_index index_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  lone_node node(in.byte());
  net::frame_reader reader(limits::frame_size_max);
  reader.feed(in.rest());
  std::uint64_t peer = 0;  // the hello's node; 0 before it
  for (;;) {
    std::string_view body;
    if (reader.next(&body) != net::frame_reader::status::frame) break;
    nodepb::PeerFrame f;
    if (!f.ParseFromArray(body.data(), static_cast<int>(body.size()))) break;
    if (peer == 0) {
      // As tcp_peers::on_frame: a hello from a known peer, not this node.
      if (!f.has_hello_from() || f.hello_from() == self_id || f.hello_from() < 1 ||
          f.hello_from() > 3) {
        break;
      }
      peer = f.hello_from();
      continue;
    }
    if (!f.has_raft() || f.raft().from() != peer) break;
    if (!node.receive(f.raft())) break;
  }
  return 0;
}
