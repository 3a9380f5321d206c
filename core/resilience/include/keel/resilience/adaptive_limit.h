// Adaptive concurrency limit algorithms, after Netflix concurrency-limits
// (github.com/Netflix/concurrency-limits, concurrency-limits-core/.../limit/
// AIMDLimit.java and Gradient2Limit.java).
//
// A LimitAlgorithm turns completed-request samples (round-trip time, requests
// in flight when it started, whether it was dropped) into a concurrency limit:
// the number of requests a server or client lets run at once. AdaptiveLimiter
// (adaptive_limiter.h) enforces it.
//
//   AimdLimit: loss-based, like TCP Reno. +1 per sample while at least half
//     the limit is in use, x backoff_ratio on a drop (or a sample slower than
//     `timeout`). Needs an explicit overload signal (timeouts, 503s).
//   GradientLimit: delay-based (Gradient2). Compares a short-term RTT (mean of
//     the last window of samples) with a long-term exponential average
//     and shrinks the limit when the short one rises above long x tolerance,
//     i.e. when a queue builds up, before anything times out. One deviation
//     from Gradient2 (queueing_drift, ADR 0014): windows that look like
//     queueing pull the long-term RTT 10x more weakly, so a sustained
//     overload does not drag the baseline, and the limit, up with it.
//
//   GradientLimit limit({}, SystemClock::Default());
//   limit.OnSample(std::chrono::milliseconds(12), /*inflight=*/18, /*dropped=*/false);
//   int n = limit.limit();
//
// Thread-safety: NOT thread-safe; AdaptiveLimiter serialises calls.
#pragma once

#include <chrono>
#include <cstdint>

#include "keel/base/clock.h"

namespace keel::resilience {

class LimitAlgorithm {
 public:
  virtual ~LimitAlgorithm() = default;
  // The current limit, always within the algorithm's [min, max].
  virtual int limit() const = 0;
  // One completed request: `rtt` from acquire to completion, `inflight` the
  // requests in flight when it was admitted (itself included), `dropped` an
  // overload signal (timeout, 503 from downstream).
  virtual void OnSample(Clock::duration rtt, int inflight, bool dropped) = 0;
};

struct AimdOptions {
  int initial_limit = 20;
  int min_limit = 1;
  int max_limit = 1000;
  double backoff_ratio = 0.9;  // in [0.5, 1)
  // A sample slower than this counts as a drop.
  Clock::duration timeout = std::chrono::seconds(5);
};

// REQUIRES (checked by LoadShedder::Create, not here): 1 <= min <= initial <= max.
class AimdLimit final : public LimitAlgorithm {
 public:
  explicit AimdLimit(const AimdOptions& options);
  int limit() const override { return limit_; }
  void OnSample(Clock::duration rtt, int inflight, bool dropped) override;

 private:
  const AimdOptions options_;
  int limit_;
};

struct GradientOptions {
  int initial_limit = 20;
  int min_limit = 1;
  int max_limit = 1000;
  double smoothing = 0.2;  // weight of a new estimate, in (0, 1]
  double tolerance = 1.5;  // short RTT up to long x tolerance is not overload; >= 1
  int long_window = 600;   // long-term RTT: exponential average over this many windows
  // One update per window: it closes once it spans `window` of time AND holds
  // `short_window` samples; its mean RTT is the short-term RTT.
  Clock::duration window = std::chrono::milliseconds(100);
  int short_window = 10;
  int queue_size = 4;  // growth allowance per update; 0 means sqrt(limit)
  // Weight, relative to a normal window, with which a window whose short RTT
  // exceeds long x tolerance (a queue) moves the long-term RTT, in (0, 1].
  // 1 is Gradient2 exactly; below 1 slows the baseline's drift under a
  // sustained overload (see ADR 0014), at the cost of learning a genuinely
  // slower baseline as slowly.
  double queueing_drift = 0.1;
};

// REQUIRES: as AimdLimit, and the bounds documented on GradientOptions.
class GradientLimit final : public LimitAlgorithm {
 public:
  // `clock` (which closes windows) must outlive the limit.
  GradientLimit(const GradientOptions& options, const Clock& clock);
  int limit() const override { return static_cast<int>(estimate_); }
  void OnSample(Clock::duration rtt, int inflight, bool dropped) override;

  // Introspection for tests and debugging, in nanoseconds.
  double long_rtt() const { return long_rtt_; }
  double last_short_rtt() const { return last_short_rtt_; }

 private:
  void Update(double short_rtt, int max_inflight, bool dropped);

  const GradientOptions options_;
  const Clock& clock_;
  double estimate_;
  double long_rtt_ = 0;
  int long_count_ = 0;  // updates seen, for the warm-up mean
  double last_short_rtt_ = 0;
  // The short window being filled.
  Clock::time_point window_start_;
  double window_sum_ = 0;
  int window_count_ = 0;
  int window_max_inflight_ = 0;
  bool window_dropped_ = false;
};

}  // namespace keel::resilience
