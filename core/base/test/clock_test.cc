#include "keel/base/clock.h"

#include <gtest/gtest.h>

#include <chrono>

namespace keel {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ManualClockTest, MovesOnlyWhenTold) {
  ManualClock clock(Clock::time_point(seconds(5)));
  EXPECT_EQ(clock.Now().time_since_epoch(), seconds(5));
  clock.Advance(milliseconds(250));
  EXPECT_EQ(clock.Now().time_since_epoch(), milliseconds(5250));
  clock.Set(Clock::time_point(seconds(9)));
  EXPECT_EQ(clock.Now().time_since_epoch(), seconds(9));
}

TEST(SystemClockTest, IsMonotonic) {
  Clock& clock = SystemClock::Default();
  Clock::time_point a = clock.Now();
  Clock::time_point b = clock.Now();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace keel
