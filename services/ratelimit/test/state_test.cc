#include "keel/ratelimit/state.h"

#include <gtest/gtest.h>

#include <vector>

#include "keel/base/rng.h"
#include "test_util.h"

namespace keel::ratelimit {
namespace {

using testing::kMs;
using testing::kStart;
using testing::MakeLimit;

// A 64-bit key collision can hand one algorithm's state to another. Every
// algorithm must take any state another one wrote without overflowing (UBSan
// checks that) and answer within its own bounds.
TEST(StateTest, StatesWrittenByAnyAlgorithmAreSafeForAll) {
  const std::vector<Limit> limits = {
      MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 5),
      MakeLimit(Algorithm::kSlidingWindow, Unit::kYear, 4'000'000'000u),
      MakeLimit(Algorithm::kTokenBucket, Unit::kDay, 1000, 1'000'000),
      MakeLimit(Algorithm::kGcra, Unit::kSecond, 1'000'000'000),
      MakeLimit(Algorithm::kGcra, Unit::kYear, 3, 100),
      MakeLimit(Algorithm::kConcurrency, Unit::kWeek, 7),
  };
  Rng rng(1);
  State state;
  std::int64_t now = kStart;
  for (int i = 0; i < 200000; ++i) {
    const Limit& limit = limits[static_cast<std::size_t>(rng.Uniform(0, 5))];
    const std::int64_t hits = rng.Uniform(-5'000'000'000, 5'000'000'000) >> rng.Uniform(0, 40);
    now += rng.Uniform(0, 10 * kMs);
    State next = state;
    const Decision d = ApplyHits(limit, &next, hits, now);
    ASSERT_LE(d.remaining, d.limit);
    ASSERT_GE(d.reset_after.count(), 0);
    ASSERT_GE(d.retry_after.count(), 0);
    if (d.ok()) {
      ASSERT_EQ(d.retry_after.count(), 0);
      state = next;
    }
  }
}

}  // namespace
}  // namespace keel::ratelimit
