#include "keel/ratelimit/gcra.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace keel::ratelimit {
namespace {

using testing::Key;
using testing::kMs;
using testing::kSec;
using testing::kStart;
using testing::MakeLimit;

// CL.THROTTLE user123 15 30 60 -> 0, 16, 15, -1, 2 (redis-cell README).
TEST(GcraTest, MatchesRedisCellReadmeExample) {
  Key key(MakeLimit(Algorithm::kGcra, Unit::kMinute, 30, 15));
  Decision d = key.Hit(1, kStart);
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d.limit, 16u);
  EXPECT_EQ(d.remaining, 15u);
  EXPECT_EQ(d.retry_after.count(), 0);
  EXPECT_EQ(d.reset_after.count(), 2 * kSec);
}

TEST(GcraTest, BurstThenEmissionInterval) {
  Key key(MakeLimit(Algorithm::kGcra, Unit::kMinute, 30, 15));  // T = 2 s, tau = 32 s
  for (std::uint32_t i = 0; i < 16; ++i) {
    Decision d = key.Hit(1, kStart);
    ASSERT_TRUE(d.ok()) << i;
    EXPECT_EQ(d.remaining, 15 - i);
    EXPECT_EQ(d.reset_after.count(), 2 * kSec * (i + 1));
  }
  Decision denied = key.Hit(1, kStart);
  EXPECT_FALSE(denied.ok());
  EXPECT_EQ(denied.remaining, 0u);
  EXPECT_EQ(denied.retry_after.count(), 2 * kSec);
  EXPECT_EQ(denied.reset_after.count(), 32 * kSec);
  EXPECT_FALSE(key.Hit(1, kStart + 2 * kSec - 1).ok());
  Decision later = key.Hit(1, kStart + 2 * kSec);
  EXPECT_TRUE(later.ok());
  EXPECT_EQ(later.remaining, 0u);
}

TEST(GcraTest, QuantityAboveLimitCanNeverPass) {
  Key key(MakeLimit(Algorithm::kGcra, Unit::kSecond, 10));  // limit 10
  Decision d = key.Hit(11, kStart);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.retry_after, kNever);
  EXPECT_EQ(d.remaining, 10u);
  EXPECT_EQ(d.reset_after.count(), 0);
  EXPECT_TRUE(key.Hit(10, kStart).ok());
}

TEST(GcraTest, ZeroQuantityPeeks) {
  Key key(MakeLimit(Algorithm::kGcra, Unit::kSecond, 10));
  EXPECT_EQ(key.Hit(0, kStart).remaining, 10u);
  key.Hit(4, kStart);
  Decision d = key.Hit(0, kStart);
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d.remaining, 6u);
  EXPECT_EQ(d.reset_after.count(), 400 * kMs);
}

TEST(GcraTest, RefundsNeverExceedLimit) {
  Key key(MakeLimit(Algorithm::kGcra, Unit::kSecond, 10));
  key.Hit(10, kStart);
  EXPECT_EQ(key.Hit(-3, kStart).remaining, 3u);
  EXPECT_EQ(key.Hit(-50, kStart).remaining, 10u);
  EXPECT_EQ(key.Hit(0, kStart).reset_after.count(), 0);
}

}  // namespace
}  // namespace keel::ratelimit
