#include "keel/resilience/retry.h"

#include <gtest/gtest.h>

namespace keel::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(FullJitterBackoff, DelaysLieInRangeWithMeanNearHalf) {
  RetryOptions o;
  Rng rng(7);
  for (int n = 1; n <= 8; ++n) {
    const Clock::duration bound = std::min<Clock::duration>(o.cap, o.base * (1 << (n - 1)));
    double sum = 0;
    constexpr int kDraws = 20000;
    for (int i = 0; i < kDraws; ++i) {
      Clock::duration d = FullJitterBackoff(o, n, rng);
      ASSERT_GE(d, Clock::duration::zero());
      ASSERT_LE(d, bound);
      sum += static_cast<double>(d.count());
    }
    EXPECT_NEAR(sum / kDraws / static_cast<double>(bound.count()), 0.5, 0.02) << n;
  }
}

TEST(FullJitterBackoff, LargeRetryNumbersStayAtCap) {
  RetryOptions o;
  Rng rng(1);
  for (int i = 0; i < 100; ++i) EXPECT_LE(FullJitterBackoff(o, 1000, rng), o.cap);
}

TEST(RetryBudget, ThousandCallsAllowAboutTenPercentPlusFloor) {
  ManualClock clock;
  RetryOptions o;
  RetryBudget budget(o, clock);
  for (int i = 0; i < 1000; ++i) budget.OnCall();
  int allowed = 0;
  while (budget.TryWithdraw() && allowed < 10000) ++allowed;
  EXPECT_EQ(allowed, 100 + 10);  // 0.1 x 1000 + 1/s x 10 s
}

TEST(RetryBudget, FloorLetsATrickleRetry) {
  ManualClock clock;
  RetryBudget budget(RetryOptions{}, clock);
  budget.OnCall();
  EXPECT_TRUE(budget.TryWithdraw());
}

TEST(RetryBudget, WindowSlides) {
  ManualClock clock;
  RetryOptions o;
  o.min_retries_per_second = 0;
  RetryBudget budget(o, clock);
  for (int i = 0; i < 100; ++i) budget.OnCall();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(budget.TryWithdraw());
  EXPECT_FALSE(budget.TryWithdraw());
  clock.Advance(seconds(10));  // calls and retries both slid out
  EXPECT_FALSE(budget.TryWithdraw());
  for (int i = 0; i < 10; ++i) budget.OnCall();
  EXPECT_TRUE(budget.TryWithdraw());
}

TEST(RetryPolicy, CountsRetriesAndWhyTheyStopped) {
  ManualClock clock;
  obs::Registry registry;
  RetryOptions o;
  o.min_retries_per_second = 0;
  o.budget_ratio = 0.1;
  auto r = RetryPolicy::Create(o, clock, registry, "users");
  ASSERT_TRUE(r.ok());
  for (int i = 0; i < 10; ++i) (*r)->OnCall();
  EXPECT_TRUE((*r)->AllowRetry(1));
  EXPECT_FALSE((*r)->AllowRetry(1));  // budget: 1 retry per 10 calls
  EXPECT_FALSE((*r)->AllowRetry(3));  // max_attempts
  auto text = registry.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_NE(text.find("keel_retries_total{name=\"users\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_retry_budget_exhausted_total{name=\"users\"} 1"), std::string::npos);
  EXPECT_NE(text.find("keel_retry_attempts_exhausted_total{name=\"users\"} 1"),
            std::string::npos);
}

TEST(RetryPolicy, CreateRejectsCapBelowBase) {
  ManualClock clock;
  obs::Registry registry;
  RetryOptions o;
  o.cap = milliseconds(10);
  auto r = RetryPolicy::Create(o, clock, registry, "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("retry.cap"), std::string::npos);
}

}  // namespace
}  // namespace keel::resilience
