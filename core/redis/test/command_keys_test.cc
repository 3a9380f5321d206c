#include "command_keys.h"

#include <gtest/gtest.h>

#include <vector>

namespace keel::redis::internal {
namespace {

std::optional<std::string_view> Key(std::vector<std::string_view> args) { return FirstKey(args); }

TEST(FirstKeyTest, IsArgumentOneByDefault) {
  EXPECT_EQ(Key({"GET", "k"}), "k");
  EXPECT_EQ(Key({"set", "k", "v"}), "k");
  EXPECT_EQ(Key({"MSET", "a", "1", "b", "2"}), "a");
}

TEST(FirstKeyTest, FollowsNumkeysForScripts) {
  EXPECT_EQ(Key({"EVALSHA", "abc", "2", "k1", "k2", "arg"}), "k1");
  EXPECT_EQ(Key({"eval", "return 1", "1", "k"}), "k");
  EXPECT_EQ(Key({"EVAL", "return 1", "0"}), std::nullopt);
  EXPECT_EQ(Key({"EVAL", "return 1", "x", "k"}), std::nullopt);
  EXPECT_EQ(Key({"FCALL", "f", "1", "k"}), "k");
}

TEST(FirstKeyTest, FindsStreamsAndSubcommandKeys) {
  EXPECT_EQ(Key({"XREAD", "COUNT", "2", "STREAMS", "s1", "0"}), "s1");
  EXPECT_EQ(Key({"XREADGROUP", "GROUP", "g", "c", "streams", "s", ">"}), "s");
  EXPECT_EQ(Key({"OBJECT", "ENCODING", "k"}), "k");
  EXPECT_EQ(Key({"MEMORY", "USAGE", "k"}), "k");
}

TEST(FirstKeyTest, KeylessCommandsHaveNone) {
  EXPECT_EQ(Key({"PING"}), std::nullopt);
  EXPECT_EQ(Key({"ping", "hello"}), std::nullopt);
  EXPECT_EQ(Key({"SCRIPT", "LOAD", "return 1"}), std::nullopt);
  EXPECT_EQ(Key({"CLUSTER", "SLOTS"}), std::nullopt);
  EXPECT_EQ(Key({"INFO", "server"}), std::nullopt);
  EXPECT_EQ(Key({}), std::nullopt);
}

}  // namespace
}  // namespace keel::redis::internal
