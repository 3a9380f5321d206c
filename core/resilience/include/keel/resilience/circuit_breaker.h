// CircuitBreaker: stops calling an upstream that is failing or slow, with
// Resilience4j's semantics (CLOSED -> OPEN -> HALF_OPEN -> CLOSED|OPEN).
//
// In CLOSED every call is permitted and its result recorded in a sliding
// window (the last `window_size` calls, or the last `window_size` seconds in
// per-second buckets). Once the window holds at least `minimum_calls` results
// and the failure rate or the slow-call rate reaches its threshold, the breaker
// opens. OPEN rejects every call until `wait_in_open` has passed; the next
// TryAcquire() then moves it to HALF_OPEN (lazily: no timer), which permits
// `half_open_calls` probes. Once all of them reported, the same rates over the
// probes decide: at or above a threshold -> OPEN again, else CLOSED.
// `max_wait_in_half_open` > 0 reopens a half-open breaker whose probes did not
// all report within that time.
//
//   auto breaker = CircuitBreaker::Create(options, clock, registry, "users");
//   if (!(*breaker)->TryAcquire()) return Rejected();
//   ... on completion: breaker->OnSuccess(latency) / OnFailure(latency)
//   ... abandoned (a cancelled hedge): breaker->OnIgnored()
//
// Every TryAcquire() that returned true must be followed by exactly one of
// OnSuccess/OnFailure/OnIgnored.
//
// Thread-safety: all methods are thread-safe (one mutex; several workers share
// one breaker per upstream). The clock and registry must outlive the breaker.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"

namespace keel::resilience {

enum class WindowType { kCount, kTime };

struct CircuitBreakerOptions {
  WindowType window_type = WindowType::kCount;  // slidingWindowType
  int window_size = 100;  // slidingWindowSize: calls (kCount) or seconds (kTime)
  int minimum_calls = 50;                        // minimumNumberOfCalls
  double failure_rate_threshold = 50;            // failureRateThreshold, percent
  double slow_call_rate_threshold = 100;         // slowCallRateThreshold, percent
  Clock::duration slow_call_duration = std::chrono::seconds(60);  // slowCallDurationThreshold
  Clock::duration wait_in_open = std::chrono::seconds(10);        // waitDurationInOpenState
  int half_open_calls = 10;  // permittedNumberOfCallsInHalfOpenState
  Clock::duration max_wait_in_half_open{0};  // maxWaitDurationInHalfOpenState; 0 = forever
};

// InvalidArgument naming the first bad field.
Status ValidateCircuitBreakerOptions(const CircuitBreakerOptions& options);

class CircuitBreaker {
 public:
  enum class State { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

  // Registers keel_breaker_state{name}, keel_breaker_transitions_total
  // {name,from,to} and keel_breaker_calls_total{name,outcome}.
  static StatusOr<std::unique_ptr<CircuitBreaker>> Create(const CircuitBreakerOptions& options,
                                                          const Clock& clock,
                                                          obs::Registry& registry,
                                                          const std::string& name);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // False: rejected (OPEN, or HALF_OPEN with every probe handed out).
  bool TryAcquire();
  // Results of a permitted call; `latency` decides slow vs not.
  void OnSuccess(Clock::duration latency);
  void OnFailure(Clock::duration latency);
  // Releases a permit without recording a result.
  void OnIgnored();

  State state() const;
  static const char* StateName(State s);

 private:
  struct Bucket {
    std::int64_t second = -1;  // kTime: which second this bucket holds
    int calls = 0, failures = 0, slow = 0;
  };
  struct Metrics {
    obs::Gauge* state;
    obs::CounterFamily* transitions;
    obs::Counter* success;
    obs::Counter* failure;
    obs::Counter* slow_success;
    obs::Counter* slow_failure;
    obs::Counter* rejected;
    obs::Counter* ignored;
  };

  CircuitBreaker(const CircuitBreakerOptions& options, const Clock& clock, Metrics metrics,
                 std::string name);
  void Record(bool failure, Clock::duration latency);
  void RecordClosedLocked(bool failure, bool slow, Clock::time_point now);
  bool OverThresholdLocked(int calls, int failures, int slow) const;
  void TransitionLocked(State to, Clock::time_point now);
  void ResetWindowLocked();

  const CircuitBreakerOptions options_;
  const Clock& clock_;
  const Metrics metrics_;
  const std::string name_;

  mutable std::mutex mu_;
  State state_ = State::kClosed;           // GUARDED_BY(mu_)
  Clock::time_point state_since_;          // GUARDED_BY(mu_)
  std::vector<Bucket> buckets_;            // GUARDED_BY(mu_); kCount: one call each
  std::size_t next_ = 0;                   // GUARDED_BY(mu_); kCount ring position
  int calls_ = 0, failures_ = 0, slow_ = 0;  // GUARDED_BY(mu_); window totals
  int probes_issued_ = 0;                  // GUARDED_BY(mu_); HALF_OPEN
  int probes_done_ = 0, probe_failures_ = 0, probe_slow_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace keel::resilience
