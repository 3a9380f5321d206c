#include "keel/resilience/load_shedder.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <utility>

namespace keel::resilience {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Validate(const LoadShedderOptions& o) {
  if (o.name.empty()) return InvalidArgument("load shedder: name must not be empty");
  if (o.kind == LimitKind::kFixed) {
    if (o.fixed_limit < 1) {
      return InvalidArgument("load shedder " + o.name + ": fixed_limit must be >= 1");
    }
  } else if (!(1 <= o.min_limit && o.min_limit <= o.initial_limit &&
               o.initial_limit <= o.max_limit)) {
    return InvalidArgument("load shedder " + o.name +
                           ": need 1 <= min_limit <= initial_limit <= max_limit, got " +
                           std::to_string(o.min_limit) + ", " + std::to_string(o.initial_limit) +
                           ", " + std::to_string(o.max_limit));
  }
  auto share_ok = [](double s) { return s > 0 && s <= 1; };
  if (!share_ok(o.share_low) || !share_ok(o.share_normal) || o.share_low > o.share_normal) {
    return InvalidArgument("load shedder " + o.name + ": need 0 < share.low <= share.normal <= 1");
  }
  if (o.kind == LimitKind::kAimd && !(o.aimd.backoff_ratio >= 0.5 && o.aimd.backoff_ratio < 1)) {
    return InvalidArgument("load shedder " + o.name + ": aimd backoff_ratio must be in [0.5, 1)");
  }
  if (o.kind == LimitKind::kGradient &&
      !(o.gradient.smoothing > 0 && o.gradient.smoothing <= 1 && o.gradient.tolerance >= 1 &&
        o.gradient.long_window >= 1 && o.gradient.short_window >= 1 &&
        o.gradient.window >= Clock::duration(0) && o.gradient.queueing_drift > 0 &&
        o.gradient.queueing_drift <= 1 && o.gradient.queue_size >= 0)) {
    return InvalidArgument("load shedder " + o.name + ": invalid gradient options");
  }
  return Status::Ok();
}

}  // namespace

Priority ParsePriority(std::string_view header_value) {
  const std::string_view v = Trim(header_value);
  if (EqualsIgnoreCase(v, "critical")) return Priority::kCritical;
  if (EqualsIgnoreCase(v, "low")) return Priority::kLow;
  return Priority::kNormal;
}

StatusOr<std::unique_ptr<LoadShedder>> LoadShedder::Create(const LoadShedderOptions& options,
                                                           const Clock& clock,
                                                           obs::Registry& registry) {
  if (Status s = Validate(options); !s.ok()) return s;

  AdaptiveLimiterOptions lo;
  lo.fixed_limit = options.fixed_limit;
  lo.shares = {1.0, options.share_normal, options.share_low};
  if (options.kind == LimitKind::kAimd) {
    AimdOptions a = options.aimd;
    a.initial_limit = options.initial_limit;
    a.min_limit = options.min_limit;
    a.max_limit = options.max_limit;
    lo.algorithm = std::make_unique<AimdLimit>(a);
  } else if (options.kind == LimitKind::kGradient) {
    GradientOptions g = options.gradient;
    g.initial_limit = options.initial_limit;
    g.min_limit = options.min_limit;
    g.max_limit = options.max_limit;
    lo.algorithm = std::make_unique<GradientLimit>(g, clock);
  }
  obs::Gauge* limit_gauge =
      registry.AddGauge("keel_concurrency_limit", "Current concurrency limit.", {"name"})
          .Get({options.name});
  obs::Gauge* inflight_gauge =
      registry
          .AddGauge("keel_concurrency_inflight", "Requests in flight under the limit.", {"name"})
          .Get({options.name});
  lo.on_change = [limit_gauge, inflight_gauge](int limit, int inflight) {
    limit_gauge->Set(limit);
    inflight_gauge->Set(inflight);
  };

  auto limiter = AdaptiveLimiter::Create(std::move(lo), clock);
  if (!limiter.ok()) return limiter.status();
  std::unique_ptr<LoadShedder> shedder(new LoadShedder());
  shedder->limiter_ = std::move(*limiter);
  limit_gauge->Set(shedder->limiter_->limit());
  inflight_gauge->Set(0);

  auto& rejected =
      registry.AddCounter("keel_concurrency_rejected_total",
                          "Requests rejected by the concurrency limit.", {"name", "priority"});
  auto& requests = registry.AddCounter("keel_concurrency_requests_total",
                                       "Admission decisions of the concurrency limit.",
                                       {"name", "priority", "outcome"});
  for (int i = 0; i < kPriorityCount; ++i) {
    const std::string_view p = PriorityName(static_cast<Priority>(i));
    PerPriority& m = shedder->metrics_[static_cast<std::size_t>(i)];
    m.rejected = rejected.Get({options.name, p});
    m.admitted_requests = requests.Get({options.name, p, "admitted"});
    m.rejected_requests = requests.Get({options.name, p, "rejected"});
  }
  return shedder;
}

std::optional<AdaptiveLimiter::Token> LoadShedder::TryAdmit(Priority priority) {
  PerPriority& m = metrics_[static_cast<std::size_t>(priority)];
  std::optional<AdaptiveLimiter::Token> token = limiter_->TryAcquire(priority);
  if (token.has_value()) {
    m.admitted_requests->Inc();
  } else {
    m.rejected->Inc();
    m.rejected_requests->Inc();
  }
  return token;
}

// Within one RTT every request now in flight completes and its slot is
// handed to whoever asks next; two RTTs let the limit adapt as well. With
// millisecond RTTs that is far below a second, and Retry-After carries whole
// seconds, so the 1 s floor usually decides: it spreads the retries of a
// rejected burst over a second instead of returning them at once. Only when
// RTTs are themselves seconds (a server deep in overload) does the hint grow.
Clock::duration LoadShedder::RetryAfter() const {
  const Clock::duration twice = 2 * limiter_->smoothed_rtt();
  return std::chrono::seconds(std::max<std::int64_t>(1, RetryAfterSeconds(twice)));
}

std::int64_t RetryAfterSeconds(Clock::duration d) {
  const auto s = std::chrono::ceil<std::chrono::seconds>(d).count();
  return std::max<std::int64_t>(0, s);
}

}  // namespace keel::resilience
