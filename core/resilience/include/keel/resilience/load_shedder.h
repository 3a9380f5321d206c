// LoadShedder: server-side admission control by priority on top of an
// AdaptiveLimiter, with its metrics and the 503 it implies.
//
// A request of priority p is admitted while inflight < limit x share[p], so
// as the server saturates, low-priority work is rejected first, then normal;
// critical work may use the whole limit. Defaults: low 0.5, normal 0.9,
// critical 1.0 — half the capacity stays free for normal and critical work
// whenever low traffic alone would fill it, and the top 10 % is headroom
// kept for critical requests (health checks, payments) when normal traffic
// saturates the server.
//
// The priority comes from the request header `x-keel-priority`
// (critical|normal|low, case-insensitive; absent or unknown: normal).
// A rejected request should get 503 with `Retry-After: RetryAfter()`.
//
//   auto shedder = LoadShedder::Create({.name = "orders", .kind = LimitKind::kGradient},
//                                      clock, registry);
//   auto token = (*shedder)->TryAdmit(ParsePriority(req[kPriorityHeader]));
//   if (!token) return Reply503(RetryAfterSeconds((*shedder)->RetryAfter()));
//
// Metrics (label name=<options.name>):
//   keel_concurrency_limit{name}                          gauge
//   keel_concurrency_inflight{name}                       gauge
//   keel_concurrency_rejected_total{name,priority}        counter
//   keel_concurrency_requests_total{name,priority,outcome}  counter, admitted|rejected
//
// Thread-safety: all methods are thread-safe. The registry and clock must
// outlive the shedder; Tokens must not outlive it.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"
#include "keel/resilience/adaptive_limit.h"
#include "keel/resilience/adaptive_limiter.h"

namespace keel::resilience {

inline constexpr std::string_view kPriorityHeader = "x-keel-priority";

// "critical" | "normal" | "low" (ASCII case-insensitive, surrounding spaces
// ignored); anything else, empty included, is kNormal.
Priority ParsePriority(std::string_view header_value);

enum class LimitKind { kFixed, kAimd, kGradient };

struct LoadShedderOptions {
  std::string name = "default";  // the metrics' name label
  LimitKind kind = LimitKind::kGradient;
  int fixed_limit = 100;   // kFixed
  int initial_limit = 20;  // kAimd, kGradient
  int min_limit = 1;
  int max_limit = 1000;
  double share_low = 0.5;
  double share_normal = 0.9;  // critical is always 1.0
  AimdOptions aimd;           // limits above override aimd's
  GradientOptions gradient;   // limits above override gradient's
};

class LoadShedder {
 public:
  // Errors: InvalidArgument for an empty name, limits not 1 <= min <= initial
  // <= max (or fixed_limit < 1), shares outside (0, 1] or low > normal.
  static StatusOr<std::unique_ptr<LoadShedder>> Create(const LoadShedderOptions& options,
                                                       const Clock& clock, obs::Registry& registry);

  // A token to complete as AdaptiveLimiter's, or nullopt: reply 503.
  std::optional<AdaptiveLimiter::Token> TryAdmit(Priority priority);

  // The Retry-After to send with a 503: twice the smoothed RTT rounded up to
  // whole seconds, at least 1 s (see load_shedder.cc).
  Clock::duration RetryAfter() const;

  int limit() const { return limiter_->limit(); }
  int inflight() const { return limiter_->inflight(); }

 private:
  struct PerPriority {
    obs::Counter* rejected = nullptr;
    obs::Counter* admitted_requests = nullptr;
    obs::Counter* rejected_requests = nullptr;
  };
  LoadShedder() = default;

  std::unique_ptr<AdaptiveLimiter> limiter_;
  std::array<PerPriority, kPriorityCount> metrics_;
};

// Whole seconds for a Retry-After header value (rounded up).
std::int64_t RetryAfterSeconds(Clock::duration d);

}  // namespace keel::resilience
