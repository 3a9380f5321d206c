// The rate limiter's admin operations, transport-independent: one core
// behind two front ends, the HTTP admin API (admin_http.cc, /v1/...) and the
// gRPC service keel.ratelimit.admin.v1.RateLimitAdmin (admin_grpc.cc). The
// front ends parse, call Authorize() and one operation, and map the Status:
//
//   InvalidArgument     bad input, the message names the field   400  INVALID_ARGUMENT
//   NotFound            no rule / domain / override for it        404  NOT_FOUND
//   Unauthenticated     missing or wrong bearer token             401  UNAUTHENTICATED
//   FailedPrecondition  reload: the rules file is invalid         422  FAILED_PRECONDITION
//   ResourceExhausted   ratelimit.max_overrides reached           409  RESOURCE_EXHAUSTED
//
//   Admin admin(limiter, {token, [&] { return runtime.Reload(); }}, obs::DefaultRegistry());
//   if (Status s = admin.Authorize(req.header("authorization")); !s.ok()) ...;
//   StatusOr<OverrideInfo> o = admin.PutOverride({"api", {{"user", "ann"}}, spec});
//
// Every call is counted in keel_ratelimit_admin_calls_total{op, result}.
//
// Thread-safety: every method may be called from any thread (the limiter
// serializes writes). REQUIRES: the limiter outlives the Admin.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/obs/metrics.h"
#include "keel/ratelimit/limiter.h"

namespace keel::ratelimit {

struct AdminOptions {
  std::string token;  // empty: the admin API is disabled
  // Reads the rules file now and swaps it in; returns why not. Unset: the
  // server has no file to reload (FailedPrecondition).
  std::function<Status()> reload;
};

// Rules of the config snapshot `config`, which keeps the pointers valid.
struct RuleList {
  std::shared_ptr<const RuleConfig> config;
  std::vector<const Rule*> rules;  // by domain, then in file order of the tree walk
};

struct OverrideRequest {
  std::string domain;
  std::vector<OwnedEntry> entries;
  LimitSpec limit;
  bool unlimited = false;
  std::optional<Duration> ttl;  // unset: until deleted; else > 0
};

struct OverrideInfo {
  KeyOverride override;
  std::string rule;                   // the matched rule's key; empty while none matches
  std::optional<Duration> expires_in;  // unset: never
};

struct KeyState {
  DescriptorOutput status;  // as a ShouldRateLimit call of 0 hits answers
  std::shared_ptr<const RuleConfig> config;  // keeps status.current_limit valid
  std::string rule;
  std::optional<OverrideInfo> override;
};

struct ReloadResult {
  std::size_t rules = 0;
  std::size_t domains = 0;
};

class Admin {
 public:
  Admin(Limiter& limiter, AdminOptions options, obs::Registry& registry);

  bool enabled() const { return !options_.token.empty(); }
  // `authorization` is the Authorization header (HTTP) or metadata (gRPC).
  // Unauthenticated unless it is "Bearer <token>"; compared in constant time.
  // REQUIRES: enabled().
  Status Authorize(std::string_view authorization) const;

  std::shared_ptr<const RuleConfig> config() const { return limiter_.config(); }
  // Every rule, or those of `domain` (NotFound when unknown); empty: all.
  StatusOr<RuleList> ListRules(std::string_view domain) const;
  StatusOr<OverrideInfo> PutOverride(OverrideRequest request);
  Status DeleteOverride(std::string_view domain, std::span<const DescriptorEntry> entries);
  // The live overrides, of `domain` only when not empty.
  std::vector<OverrideInfo> ListOverrides(std::string_view domain) const;
  Status ResetKey(std::string_view domain, std::span<const DescriptorEntry> entries);
  StatusOr<KeyState> GetKeyState(std::string_view domain, std::span<const DescriptorEntry> entries);
  StatusOr<ReloadResult> Reload();

 private:
  // The outcome of one call, counted; returns `s`.
  Status Count(std::string_view op, Status s) const;
  OverrideInfo Describe(KeyOverride o, const RuleConfig& config) const;

  Limiter& limiter_;
  const AdminOptions options_;
  obs::CounterFamily* calls_ = nullptr;
};

// InvalidArgument unless `domain` is not empty and `entries` holds 1..64
// entries with non-empty keys.
Status ValidateKey(std::string_view domain, std::span<const DescriptorEntry> entries);

}  // namespace keel::ratelimit
