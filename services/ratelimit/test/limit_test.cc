#include "keel/ratelimit/limit.h"

#include <gtest/gtest.h>

#include <chrono>

#include "test_util.h"

namespace keel::ratelimit {
namespace {

TEST(LimitTest, ParsesConfigSpellings) {
  EXPECT_EQ(*ParseAlgorithm("token_bucket"), Algorithm::kTokenBucket);
  EXPECT_EQ(*ParseAlgorithm("gcra"), Algorithm::kGcra);
  EXPECT_EQ(*ParseAlgorithm("sliding_window"), Algorithm::kSlidingWindow);
  EXPECT_EQ(*ParseAlgorithm("fixed_window"), Algorithm::kFixedWindow);
  EXPECT_EQ(*ParseAlgorithm("concurrency"), Algorithm::kConcurrency);
  EXPECT_FALSE(ParseAlgorithm("leaky").ok());
  EXPECT_EQ(*ParseUnit("week"), Unit::kWeek);
  EXPECT_FALSE(ParseUnit("fortnight").ok());
  EXPECT_EQ(UnitDuration(Unit::kMonth), std::chrono::hours(24 * 30));
  EXPECT_EQ(UnitDuration(Unit::kYear), std::chrono::hours(24 * 365));
  EXPECT_EQ(AlgorithmName(Algorithm::kGcra), "gcra");
  EXPECT_EQ(UnitName(Unit::kHour), "hour");
}

TEST(LimitTest, DefaultsToFixedWindow) {
  LimitSpec spec;
  spec.requests_per_unit = 10;
  StatusOr<Limit> limit = Limit::Create(spec);
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(limit->algorithm(), Algorithm::kFixedWindow);
  EXPECT_EQ(limit->capacity(), 10u);
}

TEST(LimitTest, RejectsBadSpecs) {
  EXPECT_FALSE(Limit::Create({Algorithm::kTokenBucket, Unit::kSecond, 0, {}, {}}).ok());
  EXPECT_FALSE(Limit::Create({Algorithm::kFixedWindow, Unit::kSecond, 5, 3, {}}).ok());
  EXPECT_FALSE(Limit::Create({Algorithm::kSlidingWindow, Unit::kSecond, 5, 3, {}}).ok());
  EXPECT_FALSE(Limit::Create({Algorithm::kTokenBucket, Unit::kSecond, 5, 0, {}}).ok());
  EXPECT_FALSE(
      Limit::Create({Algorithm::kGcra, Unit::kSecond, 5, {}, std::chrono::seconds(1)}).ok());
  EXPECT_FALSE(Limit::Create({Algorithm::kConcurrency, Unit::kSecond, 5, {}, Duration(0)}).ok());
  // Spans beyond 2^61 ns could overflow now + state.
  EXPECT_FALSE(
      Limit::Create({Algorithm::kTokenBucket, Unit::kYear, 1, 4'000'000'000u, {}}).ok());
  EXPECT_FALSE(Limit::Create({Algorithm::kGcra, Unit::kYear, 1, 4'000'000'000u, {}}).ok());
  // GCRA needs T >= 1 ns.
  EXPECT_FALSE(Limit::Create({Algorithm::kGcra, Unit::kSecond, 2'000'000'000, {}, {}}).ok());
}

TEST(LimitTest, BurstMeaningPerAlgorithm) {
  using testing::MakeLimit;
  EXPECT_EQ(MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 10).capacity(), 10u);
  EXPECT_EQ(MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 10, 25).capacity(), 25u);
  EXPECT_EQ(MakeLimit(Algorithm::kGcra, Unit::kSecond, 10).capacity(), 10u);
  EXPECT_EQ(MakeLimit(Algorithm::kGcra, Unit::kMinute, 30, 15).capacity(), 16u);
  EXPECT_EQ(MakeLimit(Algorithm::kGcra, Unit::kMinute, 30, 15).emission_interval_ns(),
            2'000'000'000);
}

TEST(LimitTest, FingerprintIdentifiesTheRule) {
  using testing::MakeLimit;
  const Limit a = MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 10);
  EXPECT_EQ(a.fingerprint(), MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 10).fingerprint());
  EXPECT_NE(a.fingerprint(), MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 11).fingerprint());
  EXPECT_NE(a.fingerprint(), MakeLimit(Algorithm::kGcra, Unit::kSecond, 10).fingerprint());
  EXPECT_NE(a.fingerprint(), MakeLimit(Algorithm::kTokenBucket, Unit::kMinute, 10).fingerprint());
  EXPECT_NE(a.fingerprint(),
            MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 10, 20).fingerprint());
}

}  // namespace
}  // namespace keel::ratelimit
