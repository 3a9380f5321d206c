#include "keel/ratelimit/concurrency.h"

#include <gtest/gtest.h>

#include <chrono>

#include "test_util.h"

namespace keel::ratelimit {
namespace {

using testing::Key;
using testing::kSec;
using testing::kStart;
using testing::MakeLimit;

Limit TwoInFlight() {
  return MakeLimit(Algorithm::kConcurrency, Unit::kSecond, 2, std::nullopt,
                   std::chrono::seconds(10));
}

TEST(ConcurrencyTest, AcquireAndRelease) {
  Key key(TwoInFlight());
  EXPECT_EQ(key.Hit(1, kStart).remaining, 1u);
  EXPECT_EQ(key.Hit(1, kStart).remaining, 0u);
  Decision denied = key.Hit(1, kStart);
  EXPECT_FALSE(denied.ok());
  EXPECT_EQ(denied.limit, 2u);
  EXPECT_EQ(denied.retry_after.count(), 20 * kSec);  // both leases must expire
  EXPECT_EQ(key.Hit(-1, kStart).remaining, 1u);
  EXPECT_TRUE(key.Hit(1, kStart).ok());
  EXPECT_EQ(key.Hit(3, kStart).retry_after, kNever);
  EXPECT_EQ(key.Hit(0, kStart).remaining, 0u);
}

TEST(ConcurrencyTest, LostReleaseExpiresWithinTwoTtls) {
  Key key(TwoInFlight());
  ASSERT_TRUE(key.Hit(2, kStart).ok());               // releases lost
  EXPECT_FALSE(key.Hit(1, kStart + 10 * kSec).ok());  // still held after one TTL
  Decision d = key.Hit(1, kStart + 19 * kSec);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.retry_after.count(), kSec);
  EXPECT_TRUE(key.Hit(2, kStart + 20 * kSec).ok());  // reclaimed
}

TEST(ConcurrencyTest, ReleasesTakeTheOldestGenerationFirst) {
  Key key(TwoInFlight());
  ASSERT_TRUE(key.Hit(1, kStart + 5 * kSec).ok());    // generation 0
  ASSERT_TRUE(key.Hit(1, kStart + 15 * kSec).ok());   // generation 1
  ASSERT_TRUE(key.Hit(-1, kStart + 16 * kSec).ok());  // the generation-0 lease
  // At 20 s generation 0 is dropped; the generation-1 lease still counts.
  EXPECT_EQ(key.Hit(0, kStart + 20 * kSec).remaining, 1u);
  EXPECT_EQ(key.Hit(0, kStart + 30 * kSec).remaining, 2u);
}

TEST(ConcurrencyTest, ReleaseBelowZeroIsClamped) {
  Key key(TwoInFlight());
  EXPECT_EQ(key.Hit(-5, kStart).remaining, 2u);
  EXPECT_TRUE(key.Hit(2, kStart).ok());
}

}  // namespace
}  // namespace keel::ratelimit
