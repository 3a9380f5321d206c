#include "keel/resilience/latency_tracker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "keel/base/rng.h"

namespace keel::resilience {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

TEST(LatencyTrackerTest, BucketsAreExactBelow32MicrosAndWithinThreePercentAbove) {
  for (int v = 0; v < 32; ++v) EXPECT_EQ(LatencyTracker::BucketFor(v), v);
  for (std::int64_t v = 32; v < (std::int64_t{1} << 26); v = v * 17 / 16 + 1) {
    const int b = LatencyTracker::BucketFor(v);
    ASSERT_LT(b, LatencyTracker::kBuckets);
    EXPECT_LE(
        std::abs(LatencyTracker::BucketValue(b) - static_cast<double>(v)) / static_cast<double>(v),
        1.0 / 32)
        << v;
  }
  EXPECT_EQ(LatencyTracker::BucketFor(std::int64_t{1} << 40), LatencyTracker::kBuckets - 1);
  EXPECT_EQ(LatencyTracker::BucketFor(-5), 0);
}

TEST(LatencyTrackerTest, ReturnsNulloptBeforeMinSamples) {
  ManualClock clock;
  LatencyTracker tracker(clock, {.min_samples = 100});
  for (int i = 0; i < 99; ++i) tracker.Record(milliseconds(5));
  EXPECT_FALSE(tracker.Percentile(0.95).has_value());
  tracker.Record(milliseconds(5));
  ASSERT_TRUE(tracker.Percentile(0.95).has_value());
}

TEST(LatencyTrackerTest, P95OfUniformDistributionIsWithinErrorBound) {
  ManualClock clock;
  LatencyTracker tracker(clock);
  // 1..10000 us, uniformly: the true p95 is 9500 us, p50 5000 us.
  for (int v = 1; v <= 10000; ++v) tracker.Record(microseconds(v));
  const auto p95 = tracker.Percentile(0.95);
  ASSERT_TRUE(p95.has_value());
  EXPECT_NEAR(Micros(*p95), 9500, 9500 * 0.02);
  const auto p50 = tracker.Percentile(0.50);
  ASSERT_TRUE(p50.has_value());
  EXPECT_NEAR(Micros(*p50), 5000, 5000 * 0.02);
}

TEST(LatencyTrackerTest, P95OfExponentialDistributionIsWithinErrorBound) {
  ManualClock clock;
  LatencyTracker tracker(clock);
  Rng rng(42);
  std::vector<double> samples;
  for (int i = 0; i < 20000; ++i) {
    // Exponential with mean 10 ms: p95 = 10 ms * ln(20) ~ 29.96 ms.
    const double u = 1.0 - rng.NextDouble();  // (0, 1]
    const double ms = -10.0 * std::log(u);
    tracker.Record(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms)));
  }
  const auto p95 = tracker.Percentile(0.95);
  ASSERT_TRUE(p95.has_value());
  // Bucket error (1.6 %) plus sampling error of 20k samples (~1.5 %).
  EXPECT_NEAR(Micros(*p95), 29957, 29957 * 0.04);
}

TEST(LatencyTrackerTest, OldIntervalAgesOutAfterTwoIntervals) {
  ManualClock clock;
  LatencyTracker tracker(clock, {.interval = seconds(10), .min_samples = 100});
  for (int i = 0; i < 200; ++i) tracker.Record(milliseconds(1));
  clock.Advance(seconds(10));  // previous interval: still in the window
  EXPECT_EQ(tracker.WindowCount(), 200u);
  ASSERT_TRUE(tracker.Percentile(0.5).has_value());
  EXPECT_NEAR(Micros(*tracker.Percentile(0.5)), 1000, 20);
  for (int i = 0; i < 200; ++i) tracker.Record(milliseconds(50));
  clock.Advance(seconds(10));  // the 1 ms interval is now two intervals old
  EXPECT_EQ(tracker.WindowCount(), 200u);
  ASSERT_TRUE(tracker.Percentile(0.05).has_value());
  EXPECT_NEAR(Micros(*tracker.Percentile(0.05)), 50000, 1000);
  clock.Advance(seconds(10));
  EXPECT_EQ(tracker.WindowCount(), 0u);
  EXPECT_FALSE(tracker.Percentile(0.05).has_value());
}

TEST(LatencyTrackerTest, CachedValueIsRecomputedAfterRecomputeEveryRecords) {
  ManualClock clock;
  LatencyTracker tracker(clock, {.min_samples = 10, .recompute_every = 100});
  for (int i = 0; i < 10; ++i) tracker.Record(milliseconds(1));
  EXPECT_NEAR(Micros(*tracker.Percentile(0.99)), 1000, 20);
  for (int i = 0; i < 99; ++i) tracker.Record(milliseconds(100));
  EXPECT_NEAR(Micros(*tracker.Percentile(0.99)), 1000, 20);  // cached
  tracker.Record(milliseconds(100));
  EXPECT_NEAR(Micros(*tracker.Percentile(0.99)), 100000, 2000);  // recomputed
}

TEST(LatencyTrackerTest, CountsEveryRecordFromManyThreads) {
  ManualClock clock;
  LatencyTracker tracker(clock, {.min_samples = 1, .recompute_every = 50});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&tracker, t] {
      for (int i = 0; i < 5000; ++i) {
        tracker.Record(microseconds(100 * (t + 1)));
        if (i % 100 == 0) (void)tracker.Percentile(0.95);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(tracker.WindowCount(), 20000u);
  ASSERT_TRUE(tracker.Percentile(0.95).has_value());
  EXPECT_NEAR(Micros(*tracker.Percentile(0.95)), 400, 8);
}

}  // namespace
}  // namespace keel::resilience
