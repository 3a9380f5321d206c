#include "keel/load/rate_profile.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>
#include <utility>

namespace keel::load {
namespace {

constexpr double kNanosPerSecond = 1e9;
// ParseDuration caps one duration at 1e18 ns; a sum of stages is held to the
// same cap so that offsets never overflow int64 nanoseconds.
constexpr double kMaxTotalNanos = 1e18;

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string FormatRate(double rate) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, rate);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

// A rate in requests per second: a finite, non-negative decimal ("0.5", "1000").
// from_chars alone would also take "nan", "inf" and "-1".
bool ParseRateNumber(std::string_view text, double* rate) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *rate);
  return ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(*rate) &&
         *rate >= 0;
}

double Seconds(Duration d) { return static_cast<double>(d.count()) / kNanosPerSecond; }

// Requests due within the first `tau` seconds of a segment.
double CountWithin(const RateProfile::Segment& s, double tau) {
  const double length = Seconds(s.duration);
  const double slope = (s.end_rate - s.start_rate) / length;
  return s.start_rate * tau + 0.5 * slope * tau * tau;
}

double SegmentCount(const RateProfile::Segment& s) {
  return 0.5 * (s.start_rate + s.end_rate) * Seconds(s.duration);
}

// Seconds into segment `s` at which `m` more requests have become due, for
// 0 <= m < SegmentCount(s). Solves start*tau + slope/2*tau^2 = m with the
// root written as 2m / (start + sqrt(start^2 + 2*slope*m)): unlike the
// textbook (-b + sqrt(...)) / 2a it has no cancellation when the slope is
// tiny, and it is exact for constant segments.
double SolveWithin(const RateProfile::Segment& s, double m) {
  const double length = Seconds(s.duration);
  if (m <= 0) return 0;
  if (s.start_rate == s.end_rate) return std::min(m / s.start_rate, length);
  const double slope = (s.end_rate - s.start_rate) / length;
  // At m == SegmentCount(s) the discriminant is end_rate^2 >= 0; rounding may
  // push it just below zero on a ramp down to 0.
  const double disc = std::max(0.0, s.start_rate * s.start_rate + 2 * slope * m);
  const double tau = 2 * m / (s.start_rate + std::sqrt(disc));
  return std::clamp(tau, 0.0, length);
}

Status Validate(const std::vector<RateProfile::Segment>& segments, std::string_view text) {
  double total_nanos = 0;
  bool any_positive = false;
  for (const RateProfile::Segment& s : segments) {
    for (double rate : {s.start_rate, s.end_rate}) {
      if (!std::isfinite(rate) || rate < 0) {
        return InvalidArgument("invalid rate " + Quote(text) + " (rates must be >= 0 requests/s)");
      }
      if (rate > 0) any_positive = true;
    }
    if (s.duration.count() <= 0) {
      return InvalidArgument("invalid rate profile " + Quote(text) +
                             " (every duration must be positive)");
    }
    total_nanos += static_cast<double>(s.duration.count());
  }
  if (segments.empty() || total_nanos <= 0) {
    return InvalidArgument("invalid rate profile " + Quote(text) + " (total duration is zero)");
  }
  if (total_nanos > kMaxTotalNanos) {
    return InvalidArgument("rate profile " + Quote(text) + " is too long");
  }
  if (!any_positive) {
    return InvalidArgument("rate profile " + Quote(text) + " never sends (every rate is 0)");
  }
  return Status::Ok();
}

}  // namespace

RateProfile::RateProfile(std::vector<Segment> segments) : segments_(std::move(segments)) {
  double count = 0;
  cumulative_.reserve(segments_.size());
  for (const Segment& s : segments_) {
    cumulative_.push_back(count);
    count += SegmentCount(s);
  }
}

StatusOr<RateProfile> RateProfile::Constant(double rate, Duration duration) {
  std::vector<Segment> segments{{duration, rate, rate}};
  Status st = Validate(segments, FormatRate(rate) + "/s for " + FormatDuration(duration));
  if (!st.ok()) return st;
  return RateProfile(std::move(segments));
}

StatusOr<RateProfile> RateProfile::ParseRate(std::string_view text, Duration duration) {
  const size_t colon = text.find(':');
  double start = 0;
  double end = 0;
  bool ok = ParseRateNumber(text.substr(0, colon), &start);
  if (colon == std::string_view::npos) {
    end = start;
  } else {
    ok = ok && ParseRateNumber(text.substr(colon + 1), &end);
  }
  if (!ok) {
    return InvalidArgument("invalid rate " + Quote(text) +
                           " (expected requests/s, e.g. 1000, or a ramp, e.g. 1000:20000)");
  }
  if (duration.count() <= 0) {
    return InvalidArgument("rate " + Quote(text) + " needs a positive duration");
  }
  std::vector<Segment> segments{{duration, start, end}};
  Status st = Validate(segments, text);
  if (!st.ok()) return st;
  return RateProfile(std::move(segments));
}

StatusOr<RateProfile> RateProfile::ParseStages(std::string_view text) {
  std::vector<Segment> segments;
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view stage = rest.substr(0, comma);
    const size_t at = stage.find('@');
    double rate = 0;
    StatusOr<Duration> duration = ParseDuration(stage.substr(0, at));
    if (at == std::string_view::npos || !duration.ok() ||
        !ParseRateNumber(stage.substr(at + 1), &rate)) {
      return InvalidArgument("invalid stage " + Quote(stage) + " in " + Quote(text) +
                             " (expected DURATION@RATE, e.g. 10s@1000)");
    }
    if (duration->count() <= 0) {
      return InvalidArgument("invalid stage " + Quote(stage) + " in " + Quote(text) +
                             " (duration must be positive)");
    }
    segments.push_back({*duration, rate, rate});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  Status st = Validate(segments, text);
  if (!st.ok()) return st;
  return RateProfile(std::move(segments));
}

std::optional<Duration> RateProfile::IntendedTime(std::uint64_t k) const {
  const double target = static_cast<double>(k);
  Duration start{0};
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    // Strictly below the segment's end count: a pause adds nothing, so its
    // requests fall to the next segment with a positive rate; and with an
    // integral total, request `total` would be due exactly at the end.
    if (target < cumulative_[i] + SegmentCount(s)) {
      const double tau = SolveWithin(s, target - cumulative_[i]);
      const auto offset = static_cast<Duration::rep>(std::llround(tau * kNanosPerSecond));
      return start + std::min(Duration(offset), s.duration);
    }
    start += s.duration;
  }
  return std::nullopt;
}

double RateProfile::ExpectedCount(Duration t) const {
  Duration start{0};
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    if (t < start + s.duration) {
      if (t <= start) return cumulative_[i];
      return cumulative_[i] + CountWithin(s, Seconds(t - start));
    }
    start += s.duration;
  }
  return segments_.empty() ? 0 : cumulative_.back() + SegmentCount(segments_.back());
}

double RateProfile::RateAt(Duration t) const {
  if (t.count() < 0) return 0;
  Duration start{0};
  for (const Segment& s : segments_) {
    if (t < start + s.duration) {
      const double fraction = Seconds(t - start) / Seconds(s.duration);
      return s.start_rate + (s.end_rate - s.start_rate) * fraction;
    }
    start += s.duration;
  }
  return 0;
}

Duration RateProfile::total_duration() const {
  Duration total{0};
  for (const Segment& s : segments_) total += s.duration;
  return total;
}

}  // namespace keel::load
