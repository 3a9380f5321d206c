#include "keel/resilience/adaptive_limit.h"

#include <algorithm>
#include <cmath>

namespace keel::resilience {

AimdLimit::AimdLimit(const AimdOptions& options)
    : options_(options),
      limit_(std::clamp(options.initial_limit, options.min_limit, options.max_limit)) {}

// As AIMDLimit.java::_update: multiplicative decrease on a drop or a timeout,
// additive increase only while the limit is actually used (inflight >= limit/2),
// so an idle service does not grow an untested limit.
void AimdLimit::OnSample(Clock::duration rtt, int inflight, bool dropped) {
  int next = limit_;
  if (dropped || rtt > options_.timeout) {
    next = static_cast<int>(limit_ * options_.backoff_ratio);
  } else if (inflight * 2 >= limit_) {
    next = limit_ + 1;
  }
  limit_ = std::clamp(next, options_.min_limit, options_.max_limit);
}

GradientLimit::GradientLimit(const GradientOptions& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      estimate_(std::clamp(options.initial_limit, options.min_limit, options.max_limit)),
      window_start_(clock.Now()) {}

// Netflix runs Gradient2Limit inside WindowedLimit (WindowedLimit.java),
// which feeds it one aggregated sample per window of >= 1 s and >= 10
// samples: the mean RTT and the peak inflight. Windows in time, not in
// samples, matter: the long-term average then moves over long_window x window
// of wall time whatever the request rate. Per-sample updates at 1000 req/s
// let a sustained overload drag the baseline up within seconds (measured:
// limit 90 instead of ~20 after 8 s at 2x), and the limit with it.
void GradientLimit::OnSample(Clock::duration rtt, int inflight, bool dropped) {
  window_sum_ += static_cast<double>(std::max<std::int64_t>(rtt.count(), 1));
  window_max_inflight_ = std::max(window_max_inflight_, inflight);
  window_dropped_ = window_dropped_ || dropped;
  ++window_count_;
  const Clock::time_point now = clock_.Now();
  if (window_count_ < options_.short_window || now - window_start_ < options_.window) return;
  window_start_ = now;
  const double short_rtt = window_sum_ / window_count_;
  const int max_inflight = window_max_inflight_;
  const bool any_drop = window_dropped_;
  window_sum_ = 0;
  window_count_ = 0;
  window_max_inflight_ = 0;
  window_dropped_ = false;
  Update(short_rtt, max_inflight, any_drop);
}

// Gradient2Limit.java::_update, step by step.
void GradientLimit::Update(double short_rtt, int max_inflight, bool dropped) {
  last_short_rtt_ = short_rtt;
  // Long-term RTT as ExpAvgMeasurement(long_window, warmup 10): a plain mean
  // for the first 10 windows, then an EMA with factor 2 / (n + 1).
  if (long_count_ < 10) {
    ++long_count_;
    long_rtt_ += (short_rtt - long_rtt_) / long_count_;
  } else {
    double factor = 2.0 / (options_.long_window + 1);
    // Gradient2 lets every window pull the baseline, so under an overload
    // that lasts longer than the long window the baseline climbs with the
    // queue and the limit with it (measured at 2x for 120 s: limit 176 for a
    // capacity of 10, 17x the no-load latency). A queueing window pulls it
    // `queueing_drift` as hard.
    if (short_rtt > long_rtt_ * options_.tolerance) factor *= options_.queueing_drift;
    long_rtt_ = long_rtt_ * (1 - factor) + short_rtt * factor;
  }
  // After a long overload the long-term RTT has drifted up and lags the
  // recovered short-term one; decaying it lets the limit recover sooner.
  if (long_rtt_ / short_rtt > 2) long_rtt_ *= 0.95;

  // App-limited: too little traffic to learn anything about the limit.
  if (max_inflight < estimate_ / 2) return;

  // An explicit drop is a stronger overload signal than delay; Gradient2
  // ignores it, we treat it as the steepest allowed gradient.
  const double gradient =
      dropped ? 0.5 : std::clamp(options_.tolerance * long_rtt_ / short_rtt, 0.5, 1.0);
  const double queue =
      options_.queue_size > 0 ? options_.queue_size : std::sqrt(std::max(estimate_, 1.0));
  double next = estimate_ * gradient + queue;
  next = estimate_ * (1 - options_.smoothing) + next * options_.smoothing;
  estimate_ = std::clamp(next, static_cast<double>(options_.min_limit),
                         static_cast<double>(options_.max_limit));
}

}  // namespace keel::resilience
