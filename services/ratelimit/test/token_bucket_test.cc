#include "keel/ratelimit/token_bucket.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace keel::ratelimit {
namespace {

using testing::Key;
using testing::kMs;
using testing::kSec;
using testing::kStart;
using testing::MakeLimit;

TEST(TokenBucketTest, StartsFullAndRefillsContinuously) {
  Key key(MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 10));
  for (std::uint32_t i = 0; i < 10; ++i) {
    Decision d = key.Hit(1, kStart);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.limit, 10u);
    EXPECT_EQ(d.remaining, 9 - i);
  }
  Decision denied = key.Hit(1, kStart);
  EXPECT_FALSE(denied.ok());
  EXPECT_EQ(denied.retry_after.count(), 100 * kMs);
  EXPECT_EQ(denied.reset_after.count(), kSec);
  // 250 ms refill 2.5 tokens.
  EXPECT_TRUE(key.Hit(1, kStart + 250 * kMs).ok());
  EXPECT_TRUE(key.Hit(1, kStart + 250 * kMs).ok());
  Decision d = key.Hit(1, kStart + 250 * kMs);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.retry_after.count(), 50 * kMs);
  EXPECT_TRUE(key.Hit(1, kStart + 300 * kMs).ok());
}

TEST(TokenBucketTest, BurstSetsCapacity) {
  Key key(MakeLimit(Algorithm::kTokenBucket, Unit::kMinute, 60, 5));
  EXPECT_TRUE(key.Hit(5, kStart).ok());
  Decision d = key.Hit(1, kStart);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.limit, 5u);
  EXPECT_EQ(d.retry_after.count(), kSec);
  EXPECT_EQ(d.reset_after.count(), 5 * kSec);
  EXPECT_EQ(key.Hit(6, kStart + 10 * kSec).retry_after, kNever);
}

TEST(TokenBucketTest, ZeroHitsAndRefunds) {
  Key key(MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 10));
  EXPECT_EQ(key.Hit(0, kStart).remaining, 10u);
  EXPECT_EQ(key.Hit(0, kStart).reset_after.count(), 0);
  EXPECT_EQ(key.Hit(10, kStart).remaining, 0u);
  EXPECT_TRUE(key.Hit(0, kStart).ok());
  EXPECT_EQ(key.Hit(-3, kStart).remaining, 3u);
  EXPECT_EQ(key.Hit(-30, kStart).remaining, 10u);
  EXPECT_EQ(key.state().expiry_ns, kStart);  // full: the state is already fresh
}

TEST(TokenBucketTest, FractionalRatesRoundTowardsStrict) {
  Key key(MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 3));
  ASSERT_TRUE(key.Hit(3, kStart).ok());
  // One token takes 333'333'333.3 ns; the debt is rounded up per token.
  EXPECT_FALSE(key.Hit(1, kStart + 333'333'333).ok());
  EXPECT_TRUE(key.Hit(1, kStart + 333'333'336).ok());
}

}  // namespace
}  // namespace keel::ratelimit
