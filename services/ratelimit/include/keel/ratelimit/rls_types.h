// What one ShouldRateLimit call asks and answers, independent of transport:
// the gRPC service (Envoy RLS v3) and HTTP POST /json both translate their
// messages into these, and a Decider answers them.
//
// Views in the input point into the caller's message and must outlive the
// call. The output keeps the config snapshot it was decided under alive, so
// its limit names stay valid after a reload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/ratelimit/rule_config.h"

namespace keel::ratelimit {

// Envoy's RateLimitResponse.Code numbering.
enum class ResponseCode { kUnknown = 0, kOk = 1, kOverLimit = 2 };

// Envoy's unit enums (RateLimitUnit and RateLimitResponse.RateLimit.Unit):
// SECOND=1, MINUTE=2, HOUR=3, DAY=4, MONTH=5, YEAR=6, WEEK=7; 0 is UNKNOWN,
// which no Unit has (nullopt).
int EnvoyUnitNumber(Unit unit);
std::string_view EnvoyUnitName(Unit unit);  // "SECOND" ...
std::optional<Unit> UnitFromEnvoyNumber(std::int64_t number);
std::optional<Unit> UnitFromEnvoyName(std::string_view name);

struct LimitOverride {  // a descriptor's own limit, instead of the config's
  std::uint32_t requests_per_unit = 0;
  Unit unit = Unit::kSecond;
};

// Descriptors one call may carry: Decider::Decide refuses more (and the
// JSON front end stops reading past it).
inline constexpr std::size_t kMaxDescriptorsPerCall = 64;

struct DescriptorInput {
  std::vector<DescriptorEntry> entries;
  std::optional<LimitOverride> limit;
  std::optional<std::int64_t> hits;  // overrides RateLimitInput::hits_addend
};

struct RateLimitInput {
  std::string_view domain;
  std::vector<DescriptorInput> descriptors;
  // Hits every descriptor adds: 0 asks without consuming; negative refunds
  // (HTTP only: RLS's field is unsigned).
  std::int64_t hits_addend = 1;
};

struct DescriptorOutput {
  ResponseCode code = ResponseCode::kOk;
  const LimitRule* current_limit = nullptr;  // the limit that decided; null: none applies
  LimitOverride override_limit;              // when the request overrode the limit
  bool overridden = false;
  std::uint32_t limit_remaining = 0;
  Duration duration_until_reset{};
  Duration retry_after{};  // over limit: when the same hits could pass (HTTP Retry-After)
};

struct RateLimitOutput {
  ResponseCode overall_code = ResponseCode::kOk;
  std::vector<DescriptorOutput> statuses;  // one per input descriptor, in order
  std::shared_ptr<const RuleConfig> config;  // keeps current_limit valid
};

class Decider {
 public:
  virtual ~Decider() = default;
  // Errors: InvalidArgument for an empty domain or no descriptors;
  // Unavailable when the store cannot answer (the caller must not read that
  // as OK: Envoy treats UNKNOWN as allowed).
  virtual Status Decide(const RateLimitInput& input, RateLimitOutput* output) = 0;
};

}  // namespace keel::ratelimit
