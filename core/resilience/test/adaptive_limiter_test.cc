#include "keel/resilience/adaptive_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace keel::resilience {
namespace {

template <typename T>
T Must(StatusOr<T> s) {
  EXPECT_TRUE(s.ok()) << s.status().message();
  return std::move(s).value();
}

using std::chrono::milliseconds;

std::unique_ptr<AdaptiveLimiter> Fixed(int limit, const Clock& clock,
                                       std::array<double, kPriorityCount> shares = {1, 1, 1}) {
  auto l = AdaptiveLimiter::Create({.fixed_limit = limit, .shares = shares}, clock);
  EXPECT_TRUE(l.ok()) << l.status().message();
  return std::move(*l);
}

TEST(AdaptiveLimiterTest, RejectsAtTheLimitAndTokensReleaseInflight) {
  ManualClock clock;
  auto limiter = Fixed(2, clock);
  auto a = limiter->TryAcquire();
  auto b = limiter->TryAcquire();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(limiter->inflight(), 2);
  EXPECT_FALSE(limiter->TryAcquire().has_value());
  a->OnSuccess();
  EXPECT_EQ(limiter->inflight(), 1);
  EXPECT_TRUE(limiter->TryAcquire().has_value());  // released again at scope end
  EXPECT_EQ(limiter->inflight(), 1);
  b->OnDropped();
  EXPECT_EQ(limiter->inflight(), 0);
}

TEST(AdaptiveLimiterTest, CompletingTwiceOrMovedFromReleasesOnce) {
  ManualClock clock;
  auto limiter = Fixed(5, clock);
  auto a = limiter->TryAcquire();
  auto b = limiter->TryAcquire();
  AdaptiveLimiter::Token moved = std::move(*a);
  a.reset();
  EXPECT_EQ(limiter->inflight(), 2);
  moved.OnSuccess();
  moved.OnSuccess();
  moved.OnDropped();
  EXPECT_EQ(limiter->inflight(), 1);
  b.reset();  // destroyed unfinished: ignore
  EXPECT_EQ(limiter->inflight(), 0);
}

TEST(AdaptiveLimiterTest, RejectsInvalidOptions) {
  ManualClock clock;
  EXPECT_FALSE(AdaptiveLimiter::Create({.fixed_limit = 0}, clock).ok());
  EXPECT_FALSE(AdaptiveLimiter::Create({.shares = {1, 0, 1}}, clock).ok());
  EXPECT_FALSE(AdaptiveLimiter::Create({.shares = {1.1, 1, 1}}, clock).ok());
}

TEST(AdaptiveLimiterTest, AppliesPriorityShares) {
  ManualClock clock;
  auto limiter = Fixed(10, clock, {1.0, 0.9, 0.5});
  std::vector<AdaptiveLimiter::Token> held;
  while (auto t = limiter->TryAcquire(Priority::kLow)) held.push_back(std::move(*t));
  EXPECT_EQ(held.size(), 5u);
  while (auto t = limiter->TryAcquire(Priority::kNormal)) held.push_back(std::move(*t));
  EXPECT_EQ(held.size(), 9u);
  while (auto t = limiter->TryAcquire(Priority::kCritical)) held.push_back(std::move(*t));
  EXPECT_EQ(held.size(), 10u);
}

TEST(AdaptiveLimiterTest, FeedsRttFromAcquireToTheAlgorithm) {
  ManualClock clock;
  auto limiter =
      Must(AdaptiveLimiter::Create({.algorithm = std::make_unique<AimdLimit>(AimdOptions{
                                        .initial_limit = 2, .timeout = milliseconds(100)})},
                                   clock));
  auto t = limiter->TryAcquire();
  clock.Advance(milliseconds(50));
  t->OnSuccess();  // inflight 1 of 2: +1
  EXPECT_EQ(limiter->limit(), 3);
  EXPECT_EQ(limiter->smoothed_rtt(), milliseconds(50));
  t = limiter->TryAcquire();
  clock.Advance(milliseconds(150));
  t->OnSuccess();  // slower than the timeout: a drop, 3 x 0.9
  EXPECT_EQ(limiter->limit(), 2);
  t = limiter->TryAcquire();
  t->OnIgnore();  // no sample
  EXPECT_EQ(limiter->limit(), 2);
}

TEST(AdaptiveLimiterTest, ReportsChangesToTheObserver) {
  ManualClock clock;
  std::vector<std::pair<int, int>> seen;
  auto limiter = Must(AdaptiveLimiter::Create(
      {.fixed_limit = 3, .on_change = [&](int l, int n) { seen.emplace_back(l, n); }}, clock));
  { auto t = limiter->TryAcquire(); }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(3, 1));
  EXPECT_EQ(seen[1], std::make_pair(3, 0));
}

TEST(AdaptiveLimiterTest, NeverAdmitsMoreThanTheLimitFromManyThreads) {
  ManualClock clock;
  auto limiter = Must(
      AdaptiveLimiter::Create({.algorithm = std::make_unique<GradientLimit>(
                                   GradientOptions{.initial_limit = 8, .max_limit = 8}, clock)},
                              clock));
  std::atomic<int> peak{0};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (auto token = limiter->TryAcquire()) {
          int n = limiter->inflight();
          int p = peak.load();
          while (n > p && !peak.compare_exchange_weak(p, n)) {
          }
          admitted.fetch_add(1);
          token->OnSuccess();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(peak.load(), 8);
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(limiter->inflight(), 0);
}

// A simulated server with `capacity` workers, processor-sharing: with n
// requests in flight each one progresses at min(1, capacity / n) of full
// speed, so its service time grows with inflight beyond capacity.
struct SimResult {
  int final_limit = 0;
  double mean_latency_ms = 0;  // of requests completed in the last second
  double max_latency_ms = 0;
  double admitted_fraction = 0;  // in the overload phase
};

SimResult SimulateOverload(const std::function<std::unique_ptr<LimitAlgorithm>(const Clock&)>& make,
                           int fixed_limit, int capacity = 10,
                           Clock::duration overload = std::chrono::seconds(8)) {
  const int kCapacity = capacity;
  const auto kService = milliseconds(10);  // capacity / service = 1000 req/s
  const auto kStep = std::chrono::microseconds(500);
  ManualClock clock;
  auto limiter = Must(AdaptiveLimiter::Create(
      {.algorithm = make ? make(clock) : nullptr, .fixed_limit = fixed_limit}, clock));
  struct Request {
    AdaptiveLimiter::Token token;
    Clock::time_point start;
    double remaining;  // in steps of full-speed service
  };
  std::vector<Request> inflight;
  const double service_steps = static_cast<double>(kService / kStep);
  double arrivals = 0;
  SimResult result;
  double latency_sum = 0;
  int latency_n = 0;
  int offered = 0;
  int admitted = 0;
  const auto warmup = std::chrono::seconds(2);  // 0.5x capacity
  // then `overload` at 2x capacity
  const auto end = warmup + overload;
  for (auto t = Clock::duration(0); t < end; t += kStep) {
    const bool overloaded = t >= warmup;
    const double rate_per_step = (overloaded ? 2.0 : 0.5) * kCapacity / service_steps;
    for (arrivals += rate_per_step; arrivals >= 1; arrivals -= 1) {
      if (overloaded) ++offered;
      if (auto token = limiter->TryAcquire()) {
        if (overloaded) ++admitted;
        inflight.push_back({std::move(*token), clock.Now(), service_steps});
      }
    }
    clock.Advance(kStep);
    const double speed =
        inflight.size() <= static_cast<std::size_t>(kCapacity)
            ? 1.0
            : static_cast<double>(kCapacity) / static_cast<double>(inflight.size());
    for (std::size_t i = 0; i < inflight.size();) {
      inflight[i].remaining -= speed;
      if (inflight[i].remaining > 1e-9) {
        ++i;
        continue;
      }
      const double ms =
          std::chrono::duration<double, std::milli>(clock.Now() - inflight[i].start).count();
      if (t >= end - std::chrono::seconds(1)) {
        latency_sum += ms;
        ++latency_n;
        result.max_latency_ms = std::max(result.max_latency_ms, ms);
      }
      inflight[i].token.OnSuccess();
      inflight[i] = std::move(inflight.back());
      inflight.pop_back();
    }
  }
  result.final_limit = limiter->limit();
  result.mean_latency_ms = latency_n > 0 ? latency_sum / latency_n : 0;
  result.admitted_fraction = static_cast<double>(admitted) / offered;
  return result;
}

std::unique_ptr<LimitAlgorithm> Gradient(const Clock& clock, double queueing_drift = 0.1) {
  return std::make_unique<GradientLimit>(GradientOptions{.queueing_drift = queueing_drift}, clock);
}

TEST(AdaptiveLimiterOverloadTest, GradientConvergesNearCapacityAndBoundsLatency) {
  for (int capacity : {10, 40}) {
    const SimResult r = SimulateOverload([](const Clock& c) { return Gradient(c); }, 0, capacity);
    std::printf("gradient C=%d: limit %d, mean %.1f ms, max %.1f ms, admitted %.2f\n", capacity,
                r.final_limit, r.mean_latency_ms, r.max_latency_ms, r.admitted_fraction);
    // Fixed point with tolerance 1.5 and queue 4: L = 1.5 C + 4.
    EXPECT_GE(r.final_limit, capacity);
    EXPECT_LE(r.final_limit, 2 * capacity + 4);
    EXPECT_LT(r.max_latency_ms, 25.0);  // 2.5x the 10 ms service time
    // Goodput: about half of the 2x offered load is the server's capacity.
    EXPECT_GT(r.admitted_fraction, 0.45);
  }
}

TEST(AdaptiveLimiterOverloadTest, GradientStaysBoundedUnderLongOverload) {
  const SimResult r = SimulateOverload([](const Clock& c) { return Gradient(c); }, 0, 10,
                                       std::chrono::seconds(120));
  std::printf("gradient 120 s: limit %d, mean %.1f ms\n", r.final_limit, r.mean_latency_ms);
  EXPECT_LE(r.final_limit, 30);
  EXPECT_LT(r.mean_latency_ms, 30.0);
  // Gradient2 as published (every window pulls the baseline) drifts upward
  // with the queue: this is what queueing_drift < 1 prevents.
  const SimResult exact = SimulateOverload([](const Clock& c) { return Gradient(c, 1.0); }, 0, 10,
                                           std::chrono::seconds(120));
  std::printf("gradient2 exact 120 s: limit %d, mean %.1f ms\n", exact.final_limit,
              exact.mean_latency_ms);
  EXPECT_GT(exact.final_limit, 3 * r.final_limit);
  EXPECT_GT(exact.mean_latency_ms, 100.0);
}

TEST(AdaptiveLimiterOverloadTest, AimdWithTimeoutBoundsLatency) {
  const SimResult r = SimulateOverload(
      [](const Clock&) {
        return std::make_unique<AimdLimit>(AimdOptions{.timeout = milliseconds(30)});
      },
      0);
  std::printf("aimd: limit %d, mean %.1f ms, max %.1f ms, admitted %.2f\n", r.final_limit,
              r.mean_latency_ms, r.max_latency_ms, r.admitted_fraction);
  EXPECT_LE(r.final_limit, 4 * 10);
  EXPECT_LT(r.mean_latency_ms, 40.0);
}

TEST(AdaptiveLimiterOverloadTest, FixedHugeLimitLetsLatencyGrow) {
  const SimResult r = SimulateOverload(nullptr, 100000);
  std::printf("fixed: limit %d, mean %.1f ms, max %.1f ms, admitted %.2f\n", r.final_limit,
              r.mean_latency_ms, r.max_latency_ms, r.admitted_fraction);
  // Every request is admitted; the backlog grows by 1000/s, so after 8 s the
  // latency is seconds, not milliseconds.
  EXPECT_DOUBLE_EQ(r.admitted_fraction, 1.0);
  EXPECT_GT(r.mean_latency_ms, 1000.0);
}

}  // namespace
}  // namespace keel::resilience
