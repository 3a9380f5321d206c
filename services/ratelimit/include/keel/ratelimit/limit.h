// Limit: one validated rate-limit rule, as written in config:
//
//   rate_limit: {unit: second|minute|hour|day|week|month|year,
//                requests_per_unit: N,
//                algorithm: token_bucket|gcra|sliding_window|fixed_window|concurrency,
//                burst: M}          # optional; token_bucket and gcra only
//
//   LimitSpec spec;
//   spec.algorithm = Algorithm::kGcra;
//   spec.unit = Unit::kMinute;
//   spec.requests_per_unit = 30;
//   spec.burst = 15;
//   StatusOr<Limit> limit = Limit::Create(spec);  // InvalidArgument on bad specs
//
// Units are fixed lengths (Envoy ratelimit's): month = 30 days, year = 365
// days. What N and M mean per algorithm is documented in each algorithm's
// header and in services/ratelimit/docs/algorithms.md.
//
// Thread-safety: an immutable value; copy freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "keel/base/status.h"
#include "keel/ratelimit/decision.h"

namespace keel::ratelimit {

enum class Algorithm : std::uint8_t {
  kFixedWindow = 0,  // the default, as in envoyproxy/ratelimit
  kTokenBucket,
  kGcra,
  kSlidingWindow,
  kConcurrency,
};

enum class Unit : std::uint8_t { kSecond, kMinute, kHour, kDay, kWeek, kMonth, kYear };

// Config spellings: "fixed_window", ...; "second", ... (lower case).
StatusOr<Algorithm> ParseAlgorithm(std::string_view text);
StatusOr<Unit> ParseUnit(std::string_view text);
std::string_view AlgorithmName(Algorithm algorithm);
std::string_view UnitName(Unit unit);
Duration UnitDuration(Unit unit);

struct LimitSpec {
  Algorithm algorithm = Algorithm::kFixedWindow;
  Unit unit = Unit::kSecond;
  std::uint32_t requests_per_unit = 0;  // REQUIRES >= 1
  // token_bucket: bucket capacity (default N), >= 1.
  // gcra: redis-cell's max_burst (default N - 1), so the limit is M + 1.
  // Others: must be absent.
  std::optional<std::uint32_t> burst;
  // concurrency only: how long an acquired slot lives without a release
  // (default: one unit). A lost release frees its slot within 2 * lease_ttl.
  std::optional<Duration> lease_ttl;
};

class Limit {
 public:
  // Validates the spec and precomputes the algorithm's constants.
  static StatusOr<Limit> Create(const LimitSpec& spec);

  Algorithm algorithm() const { return algorithm_; }
  std::uint32_t requests_per_unit() const { return requests_per_unit_; }
  // The unit's length (for concurrency, the lease TTL).
  std::int64_t period_ns() const { return period_ns_; }
  // Burst capacity: token bucket's size; GCRA's max_burst + 1; N otherwise.
  std::uint32_t capacity() const { return capacity_; }
  // GCRA's emission interval T = period / N, truncated to whole ns
  // (redis-cell's Rate::per_period).
  std::int64_t emission_interval_ns() const { return emission_interval_ns_; }
  // Identifies the rule (algorithm, N, unit, burst, TTL). Mixed into store
  // keys so that each rule on a descriptor has its own state, and a changed
  // rule starts from fresh state.
  std::uint64_t fingerprint() const { return fingerprint_; }

  // This limit with requests_per_unit and capacity multiplied by `share`,
  // rounded, at least 1: one instance's part of a limit it shares with
  // others (the Redis store's `local` fail mode). A share outside (0, 1)
  // returns the limit unchanged.
  Limit Scaled(double share) const;

 private:
  Limit() = default;
  void Fingerprint();

  Algorithm algorithm_ = Algorithm::kFixedWindow;
  std::uint32_t requests_per_unit_ = 0;
  std::uint32_t capacity_ = 0;
  std::int64_t period_ns_ = 0;
  std::int64_t emission_interval_ns_ = 0;
  std::uint64_t fingerprint_ = 0;
};

}  // namespace keel::ratelimit
