// Starting a node from a block log it cannot restore: an error, not an
// assertion.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "node/runtime/node.h"
#include "node/storage/record.h"
#include "node/storage/recovery.h"
#include "proto/storage.pb.h"

namespace ringchain::runtime {
namespace {

namespace fs = std::filesystem;

struct no_peers final : peer_transport {
  void send(const raftpb::Message&) override {}
};

// Found with tests/fuzz/fuzz_recovery, which restores recovered logs as the
// node does: a hard state voting for a node that is not a peer hit the
// core's assertion. With membership changes such a vote is legitimate (the
// node voted for one that joined later): the node starts and keeps it.
TEST(node_start, a_vote_for_a_node_that_is_not_a_configured_peer_is_kept) {
  const fs::path dir =
      fs::temp_directory_path() / ("ringchain-node-start-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "log");
  {
    storagepb::LogRecord hs;
    hs.mutable_hard_state()->set_term(4);
    hs.mutable_hard_state()->set_vote(9);
    std::string body;
    storage::append_record(hs.SerializeAsString(), &body);
    storagepb::LogRecord header;
    header.mutable_write_begin()->set_seq(1);
    header.mutable_write_begin()->set_bytes(body.size());
    std::string log;
    storage::append_record(header.SerializeAsString(), &log);
    std::ofstream(storage::segment_path(dir / "log", 1), std::ios::binary) << log + body;
  }
  node_config cfg;
  cfg.id = 1;
  cfg.data_dir = dir.string();
  cfg.io = io::backend::epoll;
  for (std::uint64_t id = 1; id <= 3; ++id) cfg.peers.push_back({id, "127.0.0.1:1", "127.0.0.1:1"});
  no_peers transport;
  node_env env;
  env.transport = &transport;
  env.verify_inline = true;
  base::result<std::unique_ptr<node>> n = node::open(cfg, env);
  ASSERT_TRUE(n.ok()) << n.message();
  const core::status st = (*n)->consensus().get_status();
  EXPECT_EQ(st.term, 4u);
  EXPECT_EQ(st.vote, 9u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ringchain::runtime
