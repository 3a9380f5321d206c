#include "keel/resilience/policy_config.h"

namespace keel::resilience {

using config::KeySpec;
using config::Type;

namespace {
constexpr std::int64_t kHourMs = 3600000;

KeySpec Double(std::string key, std::string def, std::string help, double lo, double hi) {
  KeySpec k{std::move(key), Type::kDouble, std::move(def), std::move(help)};
  k.min_double = lo;
  k.max_double = hi;
  return k;
}
}  // namespace

void AddPolicyKeys(config::Schema& s, const std::string& p) {
  s.Add({p + ".breaker.enabled", Type::kBool, "true", "circuit breaker on"});
  s.Add({p + ".breaker.window_type", Type::kEnum, "count",
         "sliding window of the last N calls (count) or N seconds (time)", 0, 0,
         {"count", "time"}});
  s.Add({p + ".breaker.window_size", Type::kInt, "100", "window: calls or seconds", 1, 100000});
  s.Add({p + ".breaker.minimum_calls", Type::kInt, "50", "calls in the window before rates count",
         1, 1000000});
  s.Add(Double(p + ".breaker.failure_rate_threshold", "50", "percent of failures that opens",
               0.001, 100));
  s.Add(Double(p + ".breaker.slow_call_rate_threshold", "100",
               "percent of slow calls that opens", 0.001, 100));
  s.Add({p + ".breaker.slow_call_duration", Type::kDuration, "60s", "a call this slow is slow", 1,
         kHourMs});
  s.Add({p + ".breaker.wait_in_open", Type::kDuration, "10s", "time open before probing", 0,
         kHourMs});
  s.Add({p + ".breaker.half_open_calls", Type::kInt, "10", "probes permitted when half open", 1,
         100000});
  s.Add({p + ".breaker.max_wait_in_half_open", Type::kDuration, "0s",
         "reopen if probes take longer; 0 = wait forever", 0, kHourMs});
  s.Add({p + ".retry.max_attempts", Type::kInt, "3", "attempts including the first", 1, 100});
  s.Add({p + ".retry.base", Type::kDuration, "50ms", "backoff of the first retry (upper bound)", 1,
         kHourMs});
  s.Add({p + ".retry.cap", Type::kDuration, "2s", "longest backoff", 1, kHourMs});
  s.Add(Double(p + ".retry.budget_ratio", "0.1", "retries per call over the budget window", 0,
               1000));
  s.Add(Double(p + ".retry.min_retries_per_second", "1", "retries always allowed per second", 0,
               1e6));
  s.Add({p + ".retry.budget_window", Type::kDuration, "10s", "retry budget window", 1000,
         kHourMs});
  s.Add({p + ".bulkhead.enabled", Type::kBool, "true", "bulkhead on"});
  s.Add({p + ".bulkhead.max_concurrent", Type::kInt, "0", "calls in flight; 0 = 2 x cores", 0,
         1000000});
  s.Add({p + ".bulkhead.max_queue", Type::kInt, "-1", "waiters; -1 = max_concurrent", -1,
         1000000});
  s.Add({p + ".bulkhead.max_wait", Type::kDuration, "0s", "longest wait; 0 = the call's deadline",
         0, kHourMs});
  s.Add({p + ".timeout.per_try", Type::kDuration, "1s", "per-attempt timeout; 0 = none", 0,
         kHourMs});
  s.Add({p + ".timeout.total", Type::kDuration, "2s", "whole-call timeout; 0 = none", 0,
         kHourMs});
  s.Add({p + ".hedge.enabled", Type::kBool, "false", "hedge idempotent calls"});
  s.Add(Double(p + ".hedge.percentile", "95", "latency quantile after which to hedge", 1, 99.9));
  s.Add({p + ".hedge.max_attempts", Type::kInt, "2",
         "legs in flight per try, the first included (2 = one hedge)", 1, kMaxHedgeAttempts});
}

PipelineOptions PipelineOptionsFromConfig(const config::Config& c, const std::string& p) {
  PipelineOptions o;
  // Integer bounds above keep every value within int.
  auto i = [&](const char* k) { return static_cast<int>(c.GetInt(p + k)); };
  o.breaker_enabled = c.GetBool(p + ".breaker.enabled");
  CircuitBreakerOptions& b = o.breaker;
  b.window_type =
      c.GetString(p + ".breaker.window_type") == "time" ? WindowType::kTime : WindowType::kCount;
  b.window_size = i(".breaker.window_size");
  b.minimum_calls = i(".breaker.minimum_calls");
  b.failure_rate_threshold = c.GetDouble(p + ".breaker.failure_rate_threshold");
  b.slow_call_rate_threshold = c.GetDouble(p + ".breaker.slow_call_rate_threshold");
  b.slow_call_duration = c.GetDuration(p + ".breaker.slow_call_duration");
  b.wait_in_open = c.GetDuration(p + ".breaker.wait_in_open");
  b.half_open_calls = i(".breaker.half_open_calls");
  b.max_wait_in_half_open = c.GetDuration(p + ".breaker.max_wait_in_half_open");
  RetryOptions& r = o.retry;
  r.max_attempts = i(".retry.max_attempts");
  r.base = c.GetDuration(p + ".retry.base");
  r.cap = c.GetDuration(p + ".retry.cap");
  r.budget_ratio = c.GetDouble(p + ".retry.budget_ratio");
  r.min_retries_per_second = c.GetDouble(p + ".retry.min_retries_per_second");
  r.budget_window = c.GetDuration(p + ".retry.budget_window");
  o.bulkhead_enabled = c.GetBool(p + ".bulkhead.enabled");
  o.bulkhead.max_concurrent = i(".bulkhead.max_concurrent");
  o.bulkhead.max_queue = i(".bulkhead.max_queue");
  o.bulkhead.max_wait = c.GetDuration(p + ".bulkhead.max_wait");
  o.per_try_timeout = c.GetDuration(p + ".timeout.per_try");
  o.total_timeout = c.GetDuration(p + ".timeout.total");
  o.hedge.enabled = c.GetBool(p + ".hedge.enabled");
  o.hedge.percentile = c.GetDouble(p + ".hedge.percentile");
  o.hedge.max_attempts = i(".hedge.max_attempts");
  return o;
}

}  // namespace keel::resilience
