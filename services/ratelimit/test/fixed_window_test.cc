#include "keel/ratelimit/fixed_window.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace keel::ratelimit {
namespace {

using testing::Key;
using testing::kMs;
using testing::kSec;
using testing::kStart;
using testing::MakeLimit;

TEST(FixedWindowTest, AdmitsLimitPerWindowThenDenies) {
  Key key(MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 3));
  const std::int64_t t = kStart + 100 * kMs;
  for (std::uint32_t i = 0; i < 3; ++i) {
    Decision d = key.Hit(1, t);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.limit, 3u);
    EXPECT_EQ(d.remaining, 2 - i);
    EXPECT_EQ(d.reset_after.count(), 900 * kMs);
  }
  Decision denied = key.Hit(1, t + 10 * kMs);
  EXPECT_EQ(denied.code, Code::kOverLimit);
  EXPECT_EQ(denied.remaining, 0u);
  EXPECT_EQ(denied.retry_after.count(), 890 * kMs);
  EXPECT_TRUE(key.Hit(1, kStart + kSec).ok());  // next window
}

TEST(FixedWindowTest, WindowsAreAlignedToTheClockEpoch) {
  Key key(MakeLimit(Algorithm::kFixedWindow, Unit::kMinute, 1));
  EXPECT_TRUE(key.Hit(1, kStart + 59 * kSec).ok());  // kStart is a minute boundary
  EXPECT_FALSE(key.Hit(1, kStart + 60 * kSec - 1).ok());
  EXPECT_TRUE(key.Hit(1, kStart + 60 * kSec).ok());
}

TEST(FixedWindowTest, HitsAddendIsAllOrNothing) {
  Key key(MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 5));
  EXPECT_EQ(key.Hit(3, kStart).remaining, 2u);
  Decision d = key.Hit(3, kStart);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.remaining, 2u);  // the denied hits consumed nothing
  EXPECT_EQ(key.Hit(2, kStart).remaining, 0u);
  EXPECT_EQ(key.Hit(6, kStart + kSec).retry_after, kNever);
}

TEST(FixedWindowTest, ZeroHitsQueriesWithoutConsuming) {
  Key key(MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 2));
  Decision fresh = key.Hit(0, kStart);
  EXPECT_TRUE(fresh.ok());
  EXPECT_EQ(fresh.remaining, 2u);
  EXPECT_EQ(fresh.reset_after.count(), 0);
  key.Hit(2, kStart);
  Decision q = key.Hit(0, kStart);
  EXPECT_TRUE(q.ok());  // a query is never denied
  EXPECT_EQ(q.remaining, 0u);
}

TEST(FixedWindowTest, NegativeHitsRefund) {
  Key key(MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 2));
  key.Hit(2, kStart);
  EXPECT_EQ(key.Hit(-1, kStart).remaining, 1u);
  EXPECT_TRUE(key.Hit(1, kStart).ok());
  EXPECT_EQ(key.Hit(-100, kStart).remaining, 2u);  // never past full
}

TEST(FixedWindowTest, LateTimestampCountsInLatestWindow) {
  Key key(MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 1));
  EXPECT_TRUE(key.Hit(1, kStart + kSec).ok());
  EXPECT_FALSE(key.Hit(1, kStart + kSec - 1).ok());
}

}  // namespace
}  // namespace keel::ratelimit
