// Retries with capped exponential backoff and full jitter, throttled by a
// retry budget so that retries cannot multiply the load on a failing
// upstream (Finagle's RetryBudget, Envoy's retry_budget, gRPC's retry
// throttling).
//
// Backoff: the delay before retry n (n = 1 for the first retry) is uniform in
// [0, min(cap, base * 2^(n-1))] ("full jitter", AWS architecture blog 2015):
// retries of many clients spread out instead of arriving in waves.
//
// Budget: over the last `budget_window`, retries may be at most
// budget_ratio * calls + min_retries_per_second * window seconds. The floor
// lets a trickle of traffic still retry; the ratio caps an outage at ~10 %
// extra load by default.
//
//   auto retry = RetryPolicy::Create(options, clock, registry, "users");
//   retry->OnCall();                                  // once per logical call
//   if (retry->AllowRetry(attempts_so_far)) sched.After(retry->Backoff(n, rng), ...);
//
// Thread-safety: RetryBudget and RetryPolicy are thread-safe (one mutex for
// the budget's window). Backoff() uses the caller's Rng (one per thread).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/rng.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"

namespace keel::resilience {

struct RetryOptions {
  int max_attempts = 3;  // attempts including the first; 1 = never retry
  Clock::duration base = std::chrono::milliseconds(50);
  Clock::duration cap = std::chrono::seconds(2);
  double budget_ratio = 0.1;  // retries per call over the window
  double min_retries_per_second = 1;
  Clock::duration budget_window = std::chrono::seconds(10);
};

Status ValidateRetryOptions(const RetryOptions& options);

// Full-jitter delay before retry `n` (>= 1).
Clock::duration FullJitterBackoff(const RetryOptions& options, int n, Rng& rng);

// The sliding-window budget alone (per-second buckets).
class RetryBudget {
 public:
  // REQUIRES: ValidateRetryOptions(options).ok(); clock outlives the budget.
  RetryBudget(const RetryOptions& options, const Clock& clock);
  // Records one call (first attempts, not retries).
  void OnCall();
  // Takes one retry from the budget; false when it is spent.
  bool TryWithdraw();

 private:
  struct Bucket {
    std::int64_t second = -1;
    double calls = 0, retries = 0;
  };
  Bucket& CurrentLocked(std::int64_t second);

  const double ratio_;
  const double floor_;  // min_retries_per_second * window seconds
  const Clock& clock_;
  std::mutex mu_;
  std::vector<Bucket> buckets_;  // GUARDED_BY(mu_)
};

// Budget + attempt limit + metrics: keel_retries_total{name},
// keel_retry_budget_exhausted_total{name}, keel_retry_attempts_exhausted_total{name}.
class RetryPolicy {
 public:
  static StatusOr<std::unique_ptr<RetryPolicy>> Create(const RetryOptions& options,
                                                       const Clock& clock,
                                                       obs::Registry& registry,
                                                       const std::string& name);
  const RetryOptions& options() const { return options_; }
  void OnCall() { budget_.OnCall(); }
  // After `attempts` attempts failed retryably: true when another is allowed
  // (attempts left and budget); counts the retry or the reason it was refused.
  bool AllowRetry(int attempts);
  Clock::duration Backoff(int n, Rng& rng) const { return FullJitterBackoff(options_, n, rng); }

 private:
  RetryPolicy(const RetryOptions& options, const Clock& clock, obs::Registry& registry,
              const std::string& name);
  const RetryOptions options_;
  RetryBudget budget_;
  obs::Counter* const retries_;
  obs::Counter* const budget_exhausted_;
  obs::Counter* const attempts_exhausted_;
};

}  // namespace keel::resilience
