#include "keel/resilience/circuit_breaker.h"

#include <gtest/gtest.h>

namespace keel::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using State = CircuitBreaker::State;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  std::unique_ptr<CircuitBreaker> Make(CircuitBreakerOptions o = {}) {
    auto b = CircuitBreaker::Create(o, clock_, registry_, "users");
    EXPECT_TRUE(b.ok());
    return std::move(*b);
  }
  // n calls, the first `failures` of them failing.
  static void Feed(CircuitBreaker& b, int n, int failures, Clock::duration latency = milliseconds(1)) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(b.TryAcquire());
      if (i < failures) b.OnFailure(latency); else b.OnSuccess(latency);
    }
  }
  std::uint64_t Transitions(const char* from, const char* to) {
    return registry_.AddCounter("keel_breaker_transitions_total", "", {"name", "from", "to"})
        .Get({"users", from, to})->Value();
  }
  ManualClock clock_{Clock::time_point(seconds(1000))};
  obs::Registry registry_;
};

TEST_F(CircuitBreakerTest, OpensAtHalfFailuresOnlyAfterMinimumCalls) {
  auto b = Make();
  Feed(*b, 49, 49);  // 100 % failures but fewer than minimum_calls
  EXPECT_EQ(b->state(), State::kClosed);
  Feed(*b, 1, 0);    // 50 calls, 49 failures: 98 %
  EXPECT_EQ(b->state(), State::kOpen);
  EXPECT_EQ(Transitions("closed", "open"), 1u);
}

TEST_F(CircuitBreakerTest, OpensAtExactlyFiftyPercent) {
  auto b = Make();
  Feed(*b, 50, 25);
  EXPECT_EQ(b->state(), State::kOpen);
}

TEST_F(CircuitBreakerTest, StaysClosedAtFortyNinePercent) {
  auto b = Make();
  Feed(*b, 100, 0);
  Feed(*b, 100, 49);  // the window now holds 49 failures in 100 calls
  EXPECT_EQ(b->state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, SlowCallRateOpens) {
  CircuitBreakerOptions o;
  o.slow_call_rate_threshold = 50;
  o.slow_call_duration = milliseconds(100);
  auto b = Make(o);
  Feed(*b, 50, 0, milliseconds(99));
  EXPECT_EQ(b->state(), State::kClosed);
  Feed(*b, 50, 0, milliseconds(100));
  EXPECT_EQ(b->state(), State::kOpen);
  auto text = registry_.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_NE(text.find("keel_breaker_calls_total{name=\"users\",outcome=\"slow_success\"} 50"),
            std::string::npos);
}

TEST_F(CircuitBreakerTest, TimeWindowForgetsOldSeconds) {
  CircuitBreakerOptions o;
  o.window_type = WindowType::kTime;
  o.window_size = 10;
  o.minimum_calls = 20;
  auto b = Make(o);
  Feed(*b, 15, 15);  // failures at t=1000s
  clock_.Advance(seconds(10));  // they slide out of the 10 s window
  Feed(*b, 15, 0);
  EXPECT_EQ(b->state(), State::kClosed);  // 15 calls now: below minimum_calls
  Feed(*b, 5, 5);  // 20 calls, 5 failures
  EXPECT_EQ(b->state(), State::kClosed);
  clock_.Advance(seconds(9));  // still inside the window
  Feed(*b, 10, 10);  // 30 calls, 15 failures: 50 %
  EXPECT_EQ(b->state(), State::kOpen);
}

TEST_F(CircuitBreakerTest, OpenRejectsUntilWaitThenAllowsExactlyTheProbes) {
  auto b = Make();
  Feed(*b, 50, 50);
  ASSERT_EQ(b->state(), State::kOpen);
  clock_.Advance(milliseconds(9999));
  EXPECT_FALSE(b->TryAcquire());
  clock_.Advance(milliseconds(1));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b->TryAcquire()) << i;
  EXPECT_EQ(b->state(), State::kHalfOpen);
  EXPECT_FALSE(b->TryAcquire());
  EXPECT_EQ(Transitions("open", "half_open"), 1u);
}

TEST_F(CircuitBreakerTest, SuccessfulProbesClose) {
  auto b = Make();
  Feed(*b, 50, 50);
  clock_.Advance(seconds(10));
  Feed(*b, 10, 4);  // 40 % < 50 %
  EXPECT_EQ(b->state(), State::kClosed);
  EXPECT_EQ(Transitions("half_open", "closed"), 1u);
  Feed(*b, 49, 49);  // the window started afresh
  EXPECT_EQ(b->state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, FailingProbesReopen) {
  auto b = Make();
  Feed(*b, 50, 50);
  clock_.Advance(seconds(10));
  Feed(*b, 10, 5);
  EXPECT_EQ(b->state(), State::kOpen);
  EXPECT_EQ(Transitions("half_open", "open"), 1u);
  EXPECT_FALSE(b->TryAcquire());
}

TEST_F(CircuitBreakerTest, IgnoredProbeGivesItsPermitBack) {
  auto b = Make();
  Feed(*b, 50, 50);
  clock_.Advance(seconds(10));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b->TryAcquire());
  b->OnIgnored();
  EXPECT_TRUE(b->TryAcquire());
}

TEST_F(CircuitBreakerTest, MaxWaitInHalfOpenReopens) {
  CircuitBreakerOptions o;
  o.max_wait_in_half_open = seconds(5);
  auto b = Make(o);
  Feed(*b, 50, 50);
  clock_.Advance(seconds(10));
  ASSERT_TRUE(b->TryAcquire());  // a probe that never reports
  clock_.Advance(seconds(5));
  EXPECT_FALSE(b->TryAcquire());
  EXPECT_EQ(b->state(), State::kOpen);
}

TEST_F(CircuitBreakerTest, StateGaugeAndRejectionsExported) {
  auto b = Make();
  Feed(*b, 50, 50);
  EXPECT_FALSE(b->TryAcquire());
  auto text = registry_.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_NE(text.find("keel_breaker_state{name=\"users\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_breaker_calls_total{name=\"users\",outcome=\"rejected\"} 1"),
            std::string::npos);
}

TEST_F(CircuitBreakerTest, CreateRejectsBadOptions) {
  CircuitBreakerOptions o;
  o.failure_rate_threshold = 150;
  auto b = CircuitBreaker::Create(o, clock_, registry_, "x");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("failure_rate_threshold"), std::string::npos);
}

}  // namespace
}  // namespace keel::resilience
