// ringchain-node's configuration: TOML, flags over it, errors that name the
// key.
#include "node/runtime/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ringchain::runtime {
namespace {

namespace fs = std::filesystem;

class config_test : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        fs::temp_directory_path() / ("ringchain-config-" + std::to_string(::getpid()) + ".toml");
  }
  void TearDown() override { fs::remove(path_); }

  // Loads with a TOML file and extra flags; captures what it prints.
  int load(const std::string& toml, std::vector<std::string> flags, node_config* c) {
    std::ofstream(path_) << toml;
    std::vector<std::string> args = {"ringchain-node", "--config", path_.string()};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::stringstream err;
    auto* old = std::cerr.rdbuf(err.rdbuf());
    command_line cl = load_config(static_cast<int>(argv.size()), argv.data());
    std::cerr.rdbuf(old);
    printed_ = err.str();
    if (cl.config) *c = *cl.config;
    return cl.config ? 0 : cl.exit_code;
  }

  const std::string good_ =
      "id = 1\n"
      "peers = \"1@127.0.0.1:7001/127.0.0.1:8001,2@127.0.0.1:7002/127.0.0.1:8002\"\n"
      "data_dir = \"/tmp/n1\"\n"
      "io = \"epoll\"\n"
      "round_interval_ms = 50\n";
  fs::path path_;
  std::string printed_;
};

TEST_F(config_test, reads_toml_and_flags_win) {
  node_config c;
  ASSERT_EQ(load(good_, {"--round_interval_ms", "20", "--persistence", "per_tx"}, &c), 0)
      << printed_;
  EXPECT_EQ(c.id, 1u);
  EXPECT_EQ(c.io, io::backend::epoll);
  EXPECT_EQ(c.round_interval_ms, 20u);
  EXPECT_EQ(c.persistence, storage::persistence::per_tx);
  ASSERT_EQ(c.peers.size(), 2u);
  EXPECT_EQ(c.peers[1].client, "127.0.0.1:8002");
}

TEST_F(config_test, unknown_key_is_named) {
  node_config c;
  EXPECT_EQ(load(good_ + "round_intervall_ms = 5\n", {}, &c), 2);
  EXPECT_NE(printed_.find("round_intervall_ms: unknown key"), std::string::npos) << printed_;
}

TEST_F(config_test, wrong_type_is_named) {
  node_config c;
  EXPECT_EQ(load(good_ + "block_txs_max = \"many\"\n", {}, &c), 2);
  EXPECT_NE(printed_.find("block_txs_max: wrong type"), std::string::npos) << printed_;
}

TEST_F(config_test, bad_values_are_named) {
  node_config c;
  EXPECT_EQ(load(good_, {"--io", "kqueue"}, &c), 2);
  EXPECT_NE(printed_.find("io: must be uring or epoll"), std::string::npos) << printed_;
  EXPECT_EQ(load(good_, {"--id", "3"}, &c), 2);
  EXPECT_NE(printed_.find("peers: must list this node"), std::string::npos) << printed_;
  EXPECT_EQ(load(good_, {"--block_txs_max", "100000"}, &c), 2);
  EXPECT_NE(printed_.find("block_txs_max: must be in"), std::string::npos) << printed_;
  EXPECT_EQ(load(good_, {"--tx_index_txs", "262145"}, &c), 2);
  EXPECT_NE(printed_.find("tx_index_txs: must be in [0, 262144]"), std::string::npos) << printed_;
  EXPECT_EQ(load(good_, {"--listen_peer", "nowhere"}, &c), 2);
  EXPECT_NE(printed_.find("listen_peer: not host:port"), std::string::npos) << printed_;
}

TEST_F(config_test, malformed_toml_names_the_line) {
  node_config c;
  EXPECT_EQ(load("id = 1\nthis is not toml\n", {}, &c), 2);
  EXPECT_NE(printed_.find("at line 2"), std::string::npos) << printed_;
}

TEST(shipped_configs, every_node_config_in_configs_loads) {
  int seen = 0;
  for (const auto& dir : fs::directory_iterator(fs::path(RINGCHAIN_SOURCE_DIR) / "configs")) {
    if (!dir.is_directory() || dir.path().filename() == "experiments") continue;
    for (const auto& f : fs::directory_iterator(dir.path())) {
      if (f.path().extension() != ".toml") continue;
      std::string file = f.path().string();
      // The container configs leave the id to a flag (docker/entrypoint.sh).
      std::vector<std::string> args = {"ringchain-node", "--config", file};
      if (file.find("/compose/") != std::string::npos) {
        args.insert(args.end(), {"--id", "1"});
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      std::stringstream err;
      auto* old = std::cerr.rdbuf(err.rdbuf());
      const command_line cl = load_config(static_cast<int>(argv.size()), argv.data());
      std::cerr.rdbuf(old);
      EXPECT_TRUE(cl.config.has_value()) << file << ": " << err.str();
      ++seen;
    }
  }
  EXPECT_GE(seen, 3);
}

TEST_F(config_test, help_exits_without_running_a_node) {
  std::vector<std::string> args = {"ringchain-node", "--id", "1", "--help"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::stringstream out;
  auto* old = std::cout.rdbuf(out.rdbuf());
  const command_line cl = load_config(static_cast<int>(argv.size()), argv.data());
  std::cout.rdbuf(old);
  EXPECT_FALSE(cl.config.has_value());
  EXPECT_EQ(cl.exit_code, 0);
  EXPECT_NE(out.str().find("--listen_admin"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace ringchain::runtime
