#include "keel/redis/slot.h"

#include <gtest/gtest.h>

namespace keel::redis {
namespace {

TEST(Crc16Test, MatchesTheXmodemCheckValue) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
}

struct SlotCase {
  const char* key;
  int slot;
};

class KeySlotTest : public ::testing::TestWithParam<SlotCase> {};

// Values from CLUSTER KEYSLOT on Redis 7 (the cluster test checks more
// against a live server).
TEST_P(KeySlotTest, MatchesRedis) { EXPECT_EQ(KeySlot(GetParam().key), GetParam().slot); }

INSTANTIATE_TEST_SUITE_P(Known, KeySlotTest,
                         ::testing::Values(SlotCase{"foo", 12182}, SlotCase{"bar", 5061},
                                           SlotCase{"hello", 866}, SlotCase{"123456789", 12739},
                                           SlotCase{"{user1000}.following", 3443},
                                           SlotCase{"{user1000}.followers", 3443},
                                           SlotCase{"user1000", 3443}));

TEST(HashTagTest, FollowsTheClusterSpec) {
  EXPECT_EQ(HashTag("{user1000}.following"), "user1000");
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashTag("{}foo"), "{}foo");            // empty tag: the whole key
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");  // the first {} is empty
  EXPECT_EQ(HashTag("foo{bar"), "foo{bar");        // no closing brace
  EXPECT_EQ(HashTag("foo}bar{"), "foo}bar{");
  EXPECT_EQ(HashTag("plain"), "plain");
}

TEST(KeySlotTest, IsAlwaysInRange) {
  for (int i = 0; i < 10000; ++i) {
    const int s = KeySlot("key:" + std::to_string(i));
    ASSERT_GE(s, 0);
    ASSERT_LT(s, kClusterSlots);
  }
}

}  // namespace
}  // namespace keel::redis
