#include "keel/resilience/retry.h"

#include <algorithm>

namespace keel::resilience {

Status ValidateRetryOptions(const RetryOptions& o) {
  if (o.max_attempts < 1) return InvalidArgument("retry.max_attempts must be >= 1");
  if (o.base <= Clock::duration::zero()) return InvalidArgument("retry.base must be > 0");
  if (o.cap < o.base) return InvalidArgument("retry.cap must be >= retry.base");
  if (o.budget_ratio < 0) return InvalidArgument("retry.budget_ratio must be >= 0");
  if (o.min_retries_per_second < 0)
    return InvalidArgument("retry.min_retries_per_second must be >= 0");
  if (o.budget_window < std::chrono::seconds(1))
    return InvalidArgument("retry.budget_window must be >= 1s");
  return Status::Ok();
}

Clock::duration FullJitterBackoff(const RetryOptions& o, int n, Rng& rng) {
  // base * 2^(n-1) saturates at cap; the shift is bounded so it cannot overflow.
  const int shift = std::clamp(n - 1, 0, 40);
  const std::int64_t limit = o.base.count() > (o.cap.count() >> shift)
                               ? o.cap.count()
                               : std::min(o.cap.count(), o.base.count() << shift);
  return Clock::duration(rng.Uniform(0, limit));
}

RetryBudget::RetryBudget(const RetryOptions& o, const Clock& clock)
    : ratio_(o.budget_ratio),
      floor_(o.min_retries_per_second *
             static_cast<double>(
                 std::chrono::duration_cast<std::chrono::seconds>(o.budget_window).count())),
      clock_(clock),
      buckets_(static_cast<std::size_t>(
          std::chrono::duration_cast<std::chrono::seconds>(o.budget_window).count())) {}

RetryBudget::Bucket& RetryBudget::CurrentLocked(std::int64_t second) {
  Bucket& b = buckets_[static_cast<std::size_t>(second % static_cast<std::int64_t>(buckets_.size()))];
  if (b.second != second) b = Bucket{second, 0, 0};
  return b;
}

static std::int64_t SecondOf(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void RetryBudget::OnCall() {
  const std::int64_t second = SecondOf(clock_.Now());
  std::lock_guard<std::mutex> lock(mu_);
  CurrentLocked(second).calls += 1;
}

bool RetryBudget::TryWithdraw() {
  const std::int64_t second = SecondOf(clock_.Now());
  const auto size = static_cast<std::int64_t>(buckets_.size());
  std::lock_guard<std::mutex> lock(mu_);
  double calls = 0, retries = 0;
  // Summing the ring (window seconds, 10 by default) is cheaper than keeping
  // running totals exact across skipped seconds, and only retries pay it.
  for (const Bucket& b : buckets_) {
    if (b.second > second - size && b.second <= second) {
      calls += b.calls;
      retries += b.retries;
    }
  }
  if (retries + 1 > ratio_ * calls + floor_) return false;
  CurrentLocked(second).retries += 1;
  return true;
}

StatusOr<std::unique_ptr<RetryPolicy>> RetryPolicy::Create(const RetryOptions& options,
                                                           const Clock& clock,
                                                           obs::Registry& registry,
                                                           const std::string& name) {
  if (Status s = ValidateRetryOptions(options); !s.ok()) return s;
  return std::unique_ptr<RetryPolicy>(new RetryPolicy(options, clock, registry, name));
}

RetryPolicy::RetryPolicy(const RetryOptions& options, const Clock& clock,
                         obs::Registry& registry, const std::string& name)
    : options_(options), budget_(options, clock),
      retries_(registry.AddCounter("keel_retries_total", "Retries started.", {"name"})
                   .Get({name})),
      budget_exhausted_(registry
                            .AddCounter("keel_retry_budget_exhausted_total",
                                        "Retries refused because the retry budget was spent.",
                                        {"name"})
                            .Get({name})),
      attempts_exhausted_(registry
                              .AddCounter("keel_retry_attempts_exhausted_total",
                                          "Calls that failed after max_attempts attempts.",
                                          {"name"})
                              .Get({name})) {}

bool RetryPolicy::AllowRetry(int attempts) {
  if (attempts >= options_.max_attempts) {
    attempts_exhausted_->Inc();
    return false;
  }
  if (!budget_.TryWithdraw()) {
    budget_exhausted_->Inc();
    return false;
  }
  retries_->Inc();
  return true;
}

}  // namespace keel::resilience
