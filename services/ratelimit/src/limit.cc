#include "keel/ratelimit/limit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "int128.h"

namespace keel::ratelimit {
namespace {

constexpr std::array<std::string_view, 5> kAlgorithmNames = {"fixed_window", "token_bucket", "gcra",
                                                             "sliding_window", "concurrency"};
constexpr std::array<std::string_view, 7> kUnitNames = {"second", "minute", "hour", "day",
                                                        "week",   "month",  "year"};
constexpr std::array<std::int64_t, 7> kUnitSeconds = {1,         60,         3600,       86400,
                                                      7 * 86400, 30 * 86400, 365 * 86400};

// Beyond this, times computed as now + state could overflow int64 ns.
constexpr int128 kMaxSpanNs = int128{1} << 61;

std::uint64_t Mix(std::uint64_t h, std::uint64_t v) {
  std::uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

StatusOr<Algorithm> ParseAlgorithm(std::string_view text) {
  for (std::size_t i = 0; i < kAlgorithmNames.size(); ++i) {
    if (text == kAlgorithmNames[i]) return static_cast<Algorithm>(i);
  }
  return InvalidArgument("unknown rate limit algorithm \"" + std::string(text) +
                         "\" (token_bucket, gcra, sliding_window, fixed_window, concurrency)");
}

StatusOr<Unit> ParseUnit(std::string_view text) {
  for (std::size_t i = 0; i < kUnitNames.size(); ++i) {
    if (text == kUnitNames[i]) return static_cast<Unit>(i);
  }
  return InvalidArgument("unknown rate limit unit \"" + std::string(text) +
                         "\" (second, minute, hour, day, week, month, year)");
}

std::string_view AlgorithmName(Algorithm algorithm) {
  return kAlgorithmNames[static_cast<std::size_t>(algorithm)];
}
std::string_view UnitName(Unit unit) { return kUnitNames[static_cast<std::size_t>(unit)]; }

Duration UnitDuration(Unit unit) {
  return std::chrono::seconds(kUnitSeconds[static_cast<std::size_t>(unit)]);
}

StatusOr<Limit> Limit::Create(const LimitSpec& spec) {
  if (static_cast<std::size_t>(spec.algorithm) >= kAlgorithmNames.size() ||
      static_cast<std::size_t>(spec.unit) >= kUnitNames.size()) {
    return InvalidArgument("rate limit: bad algorithm or unit");
  }
  const std::string name(AlgorithmName(spec.algorithm));
  if (spec.requests_per_unit == 0) {
    return InvalidArgument("rate limit: requests_per_unit must be at least 1");
  }
  const bool takes_burst =
      spec.algorithm == Algorithm::kTokenBucket || spec.algorithm == Algorithm::kGcra;
  if (spec.burst && !takes_burst) {
    return InvalidArgument("rate limit: burst applies to token_bucket and gcra, not " + name);
  }
  if (spec.lease_ttl && spec.algorithm != Algorithm::kConcurrency) {
    return InvalidArgument("rate limit: lease_ttl applies to concurrency, not " + name);
  }
  if (spec.lease_ttl && spec.lease_ttl->count() <= 0) {
    return InvalidArgument("rate limit: lease_ttl must be positive");
  }

  Limit limit;
  limit.algorithm_ = spec.algorithm;
  limit.requests_per_unit_ = spec.requests_per_unit;
  limit.period_ns_ = spec.lease_ttl ? spec.lease_ttl->count() : UnitDuration(spec.unit).count();
  limit.capacity_ = spec.requests_per_unit;
  const int128 n = spec.requests_per_unit;
  const int128 p = limit.period_ns_;
  if (spec.algorithm == Algorithm::kTokenBucket) {
    if (spec.burst && *spec.burst == 0) {
      return InvalidArgument("rate limit: token_bucket burst (capacity) must be at least 1");
    }
    if (spec.burst) limit.capacity_ = *spec.burst;
    if (limit.capacity_ * p / n > kMaxSpanNs) {
      return InvalidArgument("rate limit: token_bucket refill time of a full bucket is too long");
    }
  }
  if (spec.algorithm == Algorithm::kGcra) {
    if (spec.burst && *spec.burst == UINT32_MAX) {
      return InvalidArgument("rate limit: burst too large");
    }
    limit.capacity_ = spec.burst ? *spec.burst + 1 : spec.requests_per_unit;
    limit.emission_interval_ns_ = static_cast<std::int64_t>(p / n);
    if (limit.emission_interval_ns_ == 0) {
      return InvalidArgument("rate limit: gcra rate above one request per nanosecond");
    }
    if (int128{limit.emission_interval_ns_} * limit.capacity_ > kMaxSpanNs) {
      return InvalidArgument("rate limit: gcra burst * emission interval is too long");
    }
  }

  limit.Fingerprint();
  return limit;
}

void Limit::Fingerprint() {
  std::uint64_t h = Mix(0, static_cast<std::uint64_t>(algorithm_));
  h = Mix(h, requests_per_unit_);
  h = Mix(h, static_cast<std::uint64_t>(period_ns_));
  h = Mix(h, capacity_);
  fingerprint_ = h;
}

Limit Limit::Scaled(double share) const {
  auto scale = [share](std::uint32_t v) {
    return static_cast<std::uint32_t>(std::max<double>(1, std::round(v * share)));
  };
  if (!(share > 0) || share >= 1) return *this;
  Limit out = *this;
  out.requests_per_unit_ = scale(requests_per_unit_);
  out.capacity_ = scale(capacity_);
  if (algorithm_ == Algorithm::kGcra) out.emission_interval_ns_ = period_ns_ / out.requests_per_unit_;
  out.Fingerprint();
  return out;
}

}  // namespace keel::ratelimit
