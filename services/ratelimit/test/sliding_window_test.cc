#include "keel/ratelimit/sliding_window.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace keel::ratelimit {
namespace {

using testing::Key;
using testing::kMs;
using testing::kSec;
using testing::kStart;
using testing::MakeLimit;

Limit TenPerSecond() { return MakeLimit(Algorithm::kSlidingWindow, Unit::kSecond, 10); }

TEST(SlidingWindowTest, FirstWindowStartsAtFirstHit) {
  Key key(TenPerSecond());
  const std::int64_t t0 = kStart + 300 * kMs;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(key.Hit(1, t0).ok());
  Decision d = key.Hit(1, t0 + 999 * kMs);
  EXPECT_FALSE(d.ok());
  // In the next window, floor(10 * left / P) <= 9 once 1 ns has passed.
  EXPECT_EQ(d.retry_after.count(), 1 * kMs + 1);
  EXPECT_EQ(d.reset_after.count(), 1001 * kMs);
}

TEST(SlidingWindowTest, PreviousWindowIsWeightedByOverlap) {
  Key key(TenPerSecond());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(key.Hit(1, kStart).ok());
  // At 1.4 s the previous window weighs 0.6: estimate 6, so 4 more pass.
  const std::int64_t t = kStart + 1400 * kMs;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(key.Hit(1, t).ok()) << i;
  Decision d = key.Hit(1, t);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.remaining, 0u);
  // floor(10 * left / P) drops to 5 just after 1.4 s.
  EXPECT_EQ(d.retry_after.count(), 1);
  EXPECT_FALSE(key.Hit(1, t).ok());
  EXPECT_TRUE(key.Hit(1, t + 1).ok());
}

TEST(SlidingWindowTest, NoDoubleBurstAcrossTheBoundary) {
  Key key(TenPerSecond());
  ASSERT_TRUE(key.Hit(1, kStart).ok());  // opens [kStart, kStart + 1 s)
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(key.Hit(1, kStart + 999 * kMs).ok());
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += key.Hit(1, kStart + 1001 * kMs).ok();
  EXPECT_EQ(admitted, 1);  // the rounding's one extra, never a second burst
}

TEST(SlidingWindowTest, HitsAddendZeroAndRefunds) {
  Key key(TenPerSecond());
  EXPECT_EQ(key.Hit(0, kStart).remaining, 10u);
  EXPECT_EQ(key.Hit(7, kStart).remaining, 3u);
  EXPECT_FALSE(key.Hit(4, kStart).ok());
  EXPECT_EQ(key.Hit(0, kStart).remaining, 3u);
  EXPECT_EQ(key.Hit(-2, kStart).remaining, 5u);
  EXPECT_EQ(key.Hit(-100, kStart).remaining, 10u);
  EXPECT_EQ(key.Hit(11, kStart).retry_after, kNever);
}

TEST(SlidingWindowTest, RetryAfterIsExact) {
  Key key(TenPerSecond());
  for (int i = 0; i < 10; ++i) key.Hit(1, kStart);
  // Next window: estimate = floor(10 * (1 - e)); 3 hits need it <= 7.
  Decision d = key.Hit(3, kStart + 1000 * kMs);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.retry_after.count(), 200 * kMs + 1);
  EXPECT_FALSE(key.Hit(3, kStart + 1200 * kMs).ok());
  EXPECT_TRUE(key.Hit(3, kStart + 1200 * kMs + 1).ok());
}

TEST(SlidingWindowTest, IdleKeyStartsFresh) {
  Key key(TenPerSecond());
  for (int i = 0; i < 10; ++i) key.Hit(1, kStart);
  EXPECT_LE(key.state().expiry_ns, kStart + 2 * kSec);
  Decision d = key.Hit(10, kStart + 2 * kSec + 123);
  EXPECT_TRUE(d.ok());
}

}  // namespace
}  // namespace keel::ratelimit
