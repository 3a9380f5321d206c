#include "keel/resilience/adaptive_limit.h"

#include <gtest/gtest.h>

#include <chrono>

namespace keel::resilience {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(AimdLimitTest, GrowsByOnePerSampleWhileHalfTheLimitIsInUse) {
  AimdLimit limit({.initial_limit = 20});
  limit.OnSample(milliseconds(10), 10, false);
  EXPECT_EQ(limit.limit(), 21);
  limit.OnSample(milliseconds(10), 11, false);
  EXPECT_EQ(limit.limit(), 22);
}

TEST(AimdLimitTest, DoesNotGrowWhenAppLimited) {
  AimdLimit limit({.initial_limit = 20});
  for (int i = 0; i < 100; ++i) limit.OnSample(milliseconds(10), 9, false);
  EXPECT_EQ(limit.limit(), 20);
}

TEST(AimdLimitTest, BacksOffByRatioOnDrop) {
  AimdLimit limit({.initial_limit = 100});
  limit.OnSample(milliseconds(10), 100, true);
  EXPECT_EQ(limit.limit(), 90);
  limit.OnSample(milliseconds(10), 90, true);
  EXPECT_EQ(limit.limit(), 81);
}

TEST(AimdLimitTest, TreatsSampleSlowerThanTimeoutAsDrop) {
  AimdLimit limit({.initial_limit = 100, .timeout = seconds(1)});
  limit.OnSample(milliseconds(1001), 100, false);
  EXPECT_EQ(limit.limit(), 90);
  limit.OnSample(milliseconds(1000), 90, false);
  EXPECT_EQ(limit.limit(), 91);
}

TEST(AimdLimitTest, StaysWithinMinAndMax) {
  AimdLimit limit({.initial_limit = 3, .min_limit = 2, .max_limit = 5});
  for (int i = 0; i < 10; ++i) limit.OnSample(milliseconds(1), 5, false);
  EXPECT_EQ(limit.limit(), 5);
  for (int i = 0; i < 10; ++i) limit.OnSample(milliseconds(1), 5, true);
  EXPECT_EQ(limit.limit(), 2);
}

// Windows of `short_window` samples, whatever the time (the clock stays put).
ManualClock g_clock;
GradientOptions Counted(GradientOptions o) {
  o.window = Clock::duration(0);
  return o;
}

// A queueing server: the RTT is the base time while inflight <= capacity and
// grows linearly beyond (rtt = base x inflight / capacity).
Clock::duration QueueingRtt(int inflight, int capacity, Clock::duration base) {
  return inflight <= capacity ? base : base * inflight / capacity;
}

TEST(GradientLimitTest, GrowsWhileRttStaysAtBaseline) {
  GradientLimit limit(Counted({.initial_limit = 20}), g_clock);
  for (int i = 0; i < 1000; ++i) limit.OnSample(milliseconds(10), limit.limit(), false);
  // 100 updates of +queue_size x smoothing = +0.8 each.
  EXPECT_GE(limit.limit(), 90);
}

TEST(GradientLimitTest, HoldsWhenAppLimited) {
  GradientLimit limit(Counted({.initial_limit = 20}), g_clock);
  for (int i = 0; i < 1000; ++i) limit.OnSample(milliseconds(10), 5, false);
  EXPECT_EQ(limit.limit(), 20);
}

TEST(GradientLimitTest, ShrinksWhenShortRttRisesAboveLongTimesToleranceAndGrowsBack) {
  GradientLimit limit(Counted({.initial_limit = 20, .max_limit = 200}), g_clock);
  const auto base = milliseconds(10);
  // Baseline at low RTT.
  for (int i = 0; i < 200; ++i) limit.OnSample(base, limit.limit(), false);
  const int before = limit.limit();
  EXPECT_GE(before, 30);
  // The server's capacity drops to 10: inflight at the limit queues.
  const int capacity = 10;
  for (int i = 0; i < 300; ++i) {
    const int inflight = limit.limit();
    limit.OnSample(QueueingRtt(inflight, capacity, base), inflight, false);
  }
  const int shrunk = limit.limit();
  EXPECT_LT(shrunk, before);
  // Fixed point: gradient 1.5 x C / L = 1 - 4 / L, so L = 1.5 C + 4 = 19.
  EXPECT_LE(shrunk, 22);
  EXPECT_GT(limit.last_short_rtt(), limit.long_rtt());
  // Capacity comes back: the RTT returns to base and the limit grows again.
  for (int i = 0; i < 300; ++i) limit.OnSample(base, limit.limit(), false);
  EXPECT_GT(limit.limit(), shrunk + 10);
}

TEST(GradientLimitTest, ToleratesRttBelowLongTimesTolerance) {
  GradientLimit limit(Counted({.initial_limit = 20}), g_clock);
  for (int i = 0; i < 200; ++i) limit.OnSample(milliseconds(10), limit.limit(), false);
  const int before = limit.limit();
  // 1.4x the baseline is within tolerance 1.5: no shrinking.
  for (int i = 0; i < 50; ++i) limit.OnSample(milliseconds(14), limit.limit(), false);
  EXPECT_GE(limit.limit(), before);
}

TEST(GradientLimitTest, WindowClosesOnlyAfterItsTimeAndSamples) {
  ManualClock clock;
  GradientLimit limit({.initial_limit = 20, .window = std::chrono::milliseconds(100)}, clock);
  for (int i = 0; i < 50; ++i) limit.OnSample(milliseconds(10), 20, false);
  EXPECT_EQ(limit.last_short_rtt(), 0);  // 50 samples but no time passed: no update
  clock.Advance(std::chrono::milliseconds(100));
  limit.OnSample(milliseconds(10), 20, false);
  EXPECT_DOUBLE_EQ(limit.last_short_rtt(), 1e7);
  EXPECT_EQ(limit.limit(), 20);  // 20 + 4 x 0.2 = 20.8
}

TEST(GradientLimitTest, DropHalvesTheGradient) {
  GradientLimit limit(Counted({.initial_limit = 100, .queue_size = 4}), g_clock);
  for (int i = 0; i < 10; ++i) limit.OnSample(milliseconds(10), 100, i == 9);
  // 100 x 0.8 + (100 x 0.5 + 4) x 0.2 = 90.8
  EXPECT_EQ(limit.limit(), 90);
}

TEST(GradientLimitTest, LongRttDecaysTowardShortAfterOverload) {
  GradientLimit limit(Counted({.initial_limit = 20}), g_clock);
  for (int i = 0; i < 200; ++i) limit.OnSample(milliseconds(100), 20, false);
  const double high = limit.long_rtt();
  for (int i = 0; i < 200; ++i) limit.OnSample(milliseconds(10), 20, false);
  // 20 updates of x0.95 on top of the EMA: well below what the EMA alone gives.
  EXPECT_LT(limit.long_rtt(), high * 0.5);
}

TEST(GradientLimitTest, LearnsAPermanentlySlowerBaselineEventually) {
  GradientLimit limit(Counted({.initial_limit = 40, .max_limit = 200}), g_clock);
  for (int i = 0; i < 2000; ++i) limit.OnSample(milliseconds(10), limit.limit(), false);
  // The downstream becomes 3x slower for good, at any concurrency: the limit
  // first shrinks (it looks like queueing), then the baseline catches up.
  for (int i = 0; i < 1000; ++i) limit.OnSample(milliseconds(30), limit.limit(), false);
  EXPECT_LE(limit.limit(), 12);
  for (int i = 0; i < 40000; ++i) limit.OnSample(milliseconds(30), limit.limit(), false);
  EXPECT_GT(limit.long_rtt(), 20e6);  // past 30 ms / tolerance
  EXPECT_GT(limit.limit(), 100);
}

TEST(GradientLimitTest, StaysWithinMinAndMax) {
  GradientLimit limit(Counted({.initial_limit = 15, .min_limit = 10, .max_limit = 30}), g_clock);
  for (int i = 0; i < 2000; ++i) limit.OnSample(milliseconds(10), 30, false);
  EXPECT_EQ(limit.limit(), 30);
  for (int i = 0; i < 2000; ++i) limit.OnSample(seconds(10), 30, true);
  EXPECT_EQ(limit.limit(), 10);  // unclamped it would settle at 4 / 0.5 = 8
}

}  // namespace
}  // namespace keel::resilience
