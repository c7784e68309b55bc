#include "node/core/config.h"

#include <gtest/gtest.h>

namespace ringchain::core {
namespace {

config valid() {
  config c;
  c.id = 1;
  c.voters = {1, 2, 3};
  c.random = [](std::uint64_t) { return 0; };
  return c;
}

TEST(config, defaults_are_valid) {
  EXPECT_EQ(valid().validate().message(), "");
}

TEST(config, names_the_bad_setting) {
  config c = valid();
  c.id = 4;
  EXPECT_NE(c.validate().message().find("voters does not list"), std::string::npos);
  c = valid();
  c.voters = {1, 2, 2};
  EXPECT_NE(c.validate().message().find("twice"), std::string::npos);
  c = valid();
  c.heartbeat_ticks = 10;
  EXPECT_NE(c.validate().message().find("heartbeat_ticks"), std::string::npos);
  c = valid();
  c.random = nullptr;
  EXPECT_NE(c.validate().message().find("random"), std::string::npos);
}

TEST(config, may_lower_limits_but_not_raise_them) {
  config c = valid();
  c.inflight_appends = 4;
  c.uncommitted_entries = 10;
  EXPECT_EQ(c.validate().message(), "");
  c.inflight_appends = limits::inflight_appends_max + 1;
  EXPECT_NE(c.validate().message().find("inflight_appends is"), std::string::npos);
  c = valid();
  c.entry_bytes = 0;
  EXPECT_NE(c.validate().message().find("entry_bytes must be at least 1"), std::string::npos);
  c = valid();
  c.voters.clear();
  for (std::uint64_t i = 1; i <= limits::voters_max + 1; ++i) c.voters.push_back(i);
  EXPECT_NE(c.validate().message().find("above the limit"), std::string::npos);
}

}  // namespace
}  // namespace ringchain::core
