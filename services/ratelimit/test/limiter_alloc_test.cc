// Limiter::Decide must not allocate in the steady state, with admin
// overrides in force or not: this binary counts every global operator new.
#include <gtest/gtest.h>

#include <chrono>

#include "counting_new.h"
#include "keel/ratelimit/limiter.h"

namespace keel::ratelimit {
namespace {

constexpr const char* kRules = R"(
domain: api
descriptors:
  - key: user
    rate_limits:
      - {unit: second, requests_per_unit: 50, algorithm: token_bucket}
      - {unit: minute, requests_per_unit: 1000}
  - key: ip
    rate_limit: {unit: second, requests_per_unit: 5, algorithm: gcra}
)";

TEST(LimiterAllocationTest, DecisionsWithAndWithoutOverridesDoNotAllocate) {
  obs::Registry registry;
  ManualClock clock(ManualClock::time_point(std::chrono::seconds(86400)));
  LimiterOptions opts;
  opts.store.max_keys = 1 << 12;
  auto limiter = Limiter::Create(*RuleConfig::Parse(kRules, "rules.yaml"), opts, clock, registry).value();
  for (const char* user : {"u1", "u3", "u5"}) {
    KeyOverride o;
    o.domain = "api";
    o.entries = {{"user", user}};
    o.limit = {Algorithm::kSlidingWindow, Unit::kSecond, 20, {}, {}};
    o.expires_at = clock.Now() + std::chrono::hours(1);
    ASSERT_TRUE(limiter->PutOverride(std::move(o)).ok());
  }
  const char* users[] = {"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"};
  RateLimitInput in;
  in.domain = "api";
  in.descriptors.resize(2);
  in.descriptors[1].entries = {{"ip", "10.0.0.1"}};
  RateLimitOutput out;
  std::uint64_t overridden = 0;
  auto decide = [&](int rounds) {
    for (int r = 0; r < rounds; ++r) {
      for (const char* user : users) {
        in.descriptors[0].entries.assign(1, {"user", user});
        ASSERT_TRUE(limiter->Decide(in, &out).ok());
        overridden += out.statuses[0].overridden ? 1 : 0;
        clock.Advance(std::chrono::milliseconds(1));
      }
    }
  };
  decide(10);  // warm up: thread-local buffers, counters
  const std::uint64_t before = testing::AllocationCount();
  decide(2000);
  EXPECT_EQ(testing::AllocationCount() - before, 0u);
  EXPECT_EQ(overridden, 3u * 2010);
}

}  // namespace
}  // namespace keel::ratelimit
