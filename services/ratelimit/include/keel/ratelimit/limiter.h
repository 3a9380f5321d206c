// The rate limiter's decision maker: a config snapshot, the embedded store
// and a clock, answering ShouldRateLimit calls.
//
// Per request descriptor (as envoyproxy/ratelimit): the rule its entries
// match in the request's domain (RuleConfig::Match), or the descriptor's own
// limit override, decides; no rule means OK. An admin override (PutOverride)
// for exactly that domain and descriptor replaces the matched rule's limits
// with its own (the rule's shadow_mode and metrics key still apply); it is
// consulted only when the request does not carry a limit of its own. A rule's limits are applied
// together with Store::ApplyAll — all must pass, a denial consumes from none.
// Limits named in another matched rule's `replaces` are skipped. A rule in
// shadow_mode is applied and counted, but answers OK. `unlimited` answers OK
// with limit_remaining 2^32-1. Descriptors of one request are decided one by
// one (as envoyproxy/ratelimit does: an OK descriptor consumes even when
// another is over limit); the overall code is OVER_LIMIT when any is.
//
//   auto limiter = Limiter::Create(*RuleConfig::Load(path), {}, SystemClock::Default(),
//                                  obs::DefaultRegistry());
//   RateLimitOutput out;
//   Status s = (*limiter)->Decide(input, &out);
//   (*limiter)->SetConfig(new_config);   // hot reload: atomic swap
//
// Metrics (declared once, in limiter.cc's RuleStats): per rule key (the
// config path, e.g. "api.path_/login"; with detailed_metric the value is
// appended) keel_ratelimit_{total_hits,within_limit,near_limit,over_limit,
// shadow_mode}_total, with at most `metric_rules` keys (the rest fold into
// "_other"); keel_ratelimit_decision_seconds; the store's counters.
//
// Overrides live in the same immutable snapshot as the rules, swapped
// atomically on every change (writes copy the table; admin writes are rare):
// a decision reads them with the one snapshot load it already does, and with
// no overrides pays one branch. Overrides survive reloads (an override whose
// rule disappears is dormant until a rule matches again) but not restarts.
// `keel_ratelimit_overrides` counts the live ones.
//
//   KeyOverride o{"api", {{"user", "ann"}}, {Algorithm::kTokenBucket, Unit::kMinute, 600}};
//   o.expires_at = clock.Now() + std::chrono::hours(1);
//   Status s = limiter->PutOverride(std::move(o));   // NotFound: no rule matches
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"
#include "keel/ratelimit/remote_store.h"
#include "keel/ratelimit/rls_types.h"
#include "keel/ratelimit/rule_config.h"
#include "keel/ratelimit/store.h"

namespace keel::ratelimit {

// An admin override of a rule's limits for one exact descriptor of a domain.
struct KeyOverride {
  std::string domain;
  std::vector<OwnedEntry> entries;  // the whole descriptor, in order
  LimitSpec limit;                  // requests_per_unit 0 denies every hit
  bool unlimited = false;           // always OK instead (`limit` ignored)
  std::optional<Clock::time_point> expires_at;  // on the limiter's clock; unset: never
};

struct LimiterOptions {
  StoreOptions store;
  std::size_t max_overrides = 10000;  // live admin overrides
  std::size_t metric_rules = 500;  // distinct rule keys in metrics before "_other"
  std::uint64_t hash_seed = 0;     // 0: a random per-process seed
  // Where decisions are made: null, the embedded store; else the external
  // store (which keeps the embedded one for its `local` fail mode). Not
  // owned; must outlive the limiter.
  RemoteStore* remote = nullptr;
};

class Limiter final : public Decider {
 public:
  static StatusOr<std::unique_ptr<Limiter>> Create(std::shared_ptr<const RuleConfig> config,
                                                   const LimiterOptions& options, const Clock& clock,
                                                   obs::Registry& registry);
  // As above, with a store the caller created (e.g. one a RemoteStore
  // already uses for its local fail mode); options.store is then unused.
  static StatusOr<std::unique_ptr<Limiter>> Create(std::shared_ptr<const RuleConfig> config,
                                                   const LimiterOptions& options, std::unique_ptr<Store> store,
                                                   const Clock& clock, obs::Registry& registry);
  ~Limiter() override;

  // With a remote store, waits for its answer (bounded by its timeout).
  Status Decide(const RateLimitInput& input, RateLimitOutput* output) override;
  // As Decide; `done` runs once, inline with the embedded store, else on the
  // remote store's thread. `input` (and the views in it) and `output` must
  // stay valid until then.
  void DecideAsync(const RateLimitInput& input, RateLimitOutput* output,
                   std::function<void(Status)> done);
  // True when decisions go to a remote store.
  bool remote() const;

  void SetConfig(std::shared_ptr<const RuleConfig> config);
  std::shared_ptr<const RuleConfig> config() const;

  // Admin: the state of a descriptor's limits without consuming (hits 0),
  // and a reset (the state refunded to full). NotFound when no rule matches.
  Status Inspect(std::string_view domain, std::span<const DescriptorEntry> entries,
                 RateLimitOutput* output);
  // Reset refunds the descriptor's override too, when it has one.
  Status Reset(std::string_view domain, std::span<const DescriptorEntry> entries);

  // Adds or replaces the override of `o.domain` + `o.entries`.
  // Errors: InvalidArgument for an empty domain, no entries (or more than
  // 64), an empty entry key, a limit Limit::Create refuses or an expiry not
  // in the future; NotFound when no rule matches the descriptor;
  // ResourceExhausted when max_overrides live overrides exist (replacing one
  // is always possible).
  Status PutOverride(KeyOverride o);
  // NotFound when the descriptor has no live override.
  Status DeleteOverride(std::string_view domain, std::span<const DescriptorEntry> entries);
  // The live overrides (expired ones are gone), sorted by domain, then entries.
  std::vector<KeyOverride> Overrides() const;
  std::optional<KeyOverride> FindOverride(std::string_view domain,
                                          std::span<const DescriptorEntry> entries) const;

  const Clock& clock() const;

  Store& store() { return *store_; }

 private:
  struct Impl;
  explicit Limiter(std::unique_ptr<Impl> impl, std::unique_ptr<Store> store);
  // Reads the snapshot, answers what needs no store and lists the store
  // calls in *plan (a Plan, limiter.cc's).
  Status Prepare(const RateLimitInput& input, RateLimitOutput* output, void* plan);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Store> store_;
};

}  // namespace keel::ratelimit
