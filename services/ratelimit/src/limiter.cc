#include "keel/ratelimit/limiter.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <random>
#include <unordered_map>

#include "keel/ratelimit/key_hash.h"

namespace keel::ratelimit {
namespace {

constexpr std::uint32_t kUnlimitedRemaining = std::numeric_limits<std::uint32_t>::max();

const std::vector<double>& DecisionBuckets() {
  // Embedded decisions take microseconds; with a Redis store they take a
  // round trip, and the 2 ms decision SLO and a store timeout (+1 ms) must be
  // readable from the buckets too.
  static const std::vector<double> kBuckets = {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
                                               1e-3, 2e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 1e-1};
  return kBuckets;
}

// The per-rule counters, declared once.
#define KEEL_RATELIMIT_RULE_STATS(X)                                                     \
  X(total_hits, "Hits asked for per rule key.")                                          \
  X(within_limit, "Hits that passed.")                                                   \
  X(near_limit, "Hits that passed with 80 % or more of the limit used.")                 \
  X(over_limit, "Hits denied (or that would have been, in shadow mode).")                \
  X(shadow_mode, "Hits over the limit that passed because the rule is in shadow mode.")

struct RuleStats {
#define KEEL_FIELD(name, help) obs::Counter* name = nullptr;
  KEEL_RATELIMIT_RULE_STATS(KEEL_FIELD)
#undef KEEL_FIELD
};

struct Families {
#define KEEL_FIELD(name, help) obs::CounterFamily* name = nullptr;
  KEEL_RATELIMIT_RULE_STATS(KEEL_FIELD)
#undef KEEL_FIELD

  RuleStats For(std::string_view key) {
    RuleStats s;
#define KEEL_FIELD(name, help) s.name = name->Get({key});
    KEEL_RATELIMIT_RULE_STATS(KEEL_FIELD)
#undef KEEL_FIELD
    return s;
  }
};

using StatsMap = std::unordered_map<const Rule*, RuleStats>;  // rules without detailed_metric

// One admin override with its validated limit (unset: unlimited, or
// requests_per_unit 0).
struct OverrideSlot {
  KeyOverride spec;
  std::optional<Limit> limit;

  bool Is(std::string_view domain, std::span<const DescriptorEntry> entries) const {
    if (domain != spec.domain || entries.size() != spec.entries.size()) return false;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].key != spec.entries[i].key || entries[i].value != spec.entries[i].value) return false;
    }
    return true;
  }
  bool Live(Clock::time_point now) const { return !spec.expires_at || now < *spec.expires_at; }
};

// Keyed by the descriptor's store hash; slots are shared between versions.
using OverrideTable = std::unordered_multimap<std::uint64_t, std::shared_ptr<const OverrideSlot>>;

const OverrideSlot* FindIn(const OverrideTable& table, std::uint64_t key, std::string_view domain,
                           std::span<const DescriptorEntry> entries) {
  auto [it, end] = table.equal_range(key);
  for (; it != end; ++it) {
    if (it->second->Is(domain, entries)) return it->second.get();
  }
  return nullptr;
}

// The rules with their counters resolved and the overrides, swapped as one.
struct Snapshot {
  std::shared_ptr<const RuleConfig> config;
  std::shared_ptr<const StatsMap> stats;
  std::shared_ptr<const OverrideTable> overrides;  // never null
};

void CollectRules(const RuleConfig::Node& node, std::vector<const Rule*>* out) {
  if (node.rule) out->push_back(node.rule.get());
  for (const auto& [key, child] : node.children) CollectRules(child, out);
}

}  // namespace

struct Limiter::Impl {
  const Clock& clock;
  RemoteStore* remote = nullptr;
  std::uint64_t seed = 0;
  std::size_t max_overrides = 0;
  Families families;
  obs::Histogram* decision_seconds = nullptr;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot;
  // Serializes the writers' read-copy-update of `snapshot`.
  std::mutex write_mu;

  Impl(const Clock& c) : clock(c) {}

  std::shared_ptr<const StatsMap> BuildStats(const RuleConfig& config) {
    auto stats = std::make_shared<StatsMap>();
    std::vector<const Rule*> rules;
    for (const std::string& domain : config.domains()) CollectRules(*config.domain_root(domain), &rules);
    for (const Rule* r : rules) {
      if (!r->detailed_metric) stats->emplace(r, families.For(r->full_key));
    }
    return stats;
  }

  // REQUIRES: write_mu held (or no other thread yet).
  void Publish(std::shared_ptr<const RuleConfig> config, std::shared_ptr<const StatsMap> stats,
               std::shared_ptr<const OverrideTable> overrides) {
    auto s = std::make_shared<Snapshot>();
    s->config = std::move(config);
    s->stats = std::move(stats);
    s->overrides = std::move(overrides);
    snapshot.store(std::move(s));
  }

  RuleStats StatsFor(const Snapshot& s, const Rule* rule, std::span<const DescriptorEntry> entries) {
    if (!rule->detailed_metric) return s.stats->at(rule);
    std::string key = rule->full_key;
    key += '_';
    key += entries.back().value;
    return families.For(key);
  }

  // The table minus expired slots and minus `skip`'s descriptor (when set).
  static std::shared_ptr<OverrideTable> Pruned(const OverrideTable& table, Clock::time_point now,
                                               const OverrideSlot* skip) {
    auto out = std::make_shared<OverrideTable>();
    for (const auto& [key, slot] : table) {
      if (!slot->Live(now) || slot.get() == skip) continue;
      out->emplace(key, slot);
    }
    return out;
  }
};

Limiter::Limiter(std::unique_ptr<Impl> impl, std::unique_ptr<Store> store)
    : impl_(std::move(impl)), store_(std::move(store)) {}

Limiter::~Limiter() = default;

StatusOr<std::unique_ptr<Limiter>> Limiter::Create(std::shared_ptr<const RuleConfig> config,
                                                   const LimiterOptions& options, const Clock& clock,
                                                   obs::Registry& registry) {
  auto store = Store::Create(options.store);
  if (!store.ok()) return store.status();
  return Create(std::move(config), options, std::move(*store), clock, registry);
}

StatusOr<std::unique_ptr<Limiter>> Limiter::Create(std::shared_ptr<const RuleConfig> config,
                                                   const LimiterOptions& options, std::unique_ptr<Store> owned,
                                                   const Clock& clock, obs::Registry& registry) {
  if (!owned) return InvalidArgument("limiter: no store");
  std::unique_ptr<Store>* store = &owned;
  auto impl = std::make_unique<Impl>(clock);
  impl->seed = options.hash_seed != 0 ? options.hash_seed : std::random_device{}() * 0x9E3779B97F4A7C15ull + 1;
#define KEEL_FIELD(name, help)                                                                      \
  impl->families.name = &registry.AddCounter("keel_ratelimit_" #name "_total", help, {"rule"}, \
                                             options.metric_rules);
  KEEL_RATELIMIT_RULE_STATS(KEEL_FIELD)
#undef KEEL_FIELD
  impl->decision_seconds =
      registry.AddHistogram("keel_ratelimit_decision_seconds", "Time to decide one ShouldRateLimit call.", {},
                            DecisionBuckets())
          .Get({});
  impl->max_overrides = options.max_overrides;
  impl->remote = options.remote;
  auto stats = impl->BuildStats(*config);
  impl->Publish(std::move(config), std::move(stats), std::make_shared<OverrideTable>());
  Impl* raw_impl = impl.get();
  registry.AddCallback("keel_ratelimit_overrides", "Live admin overrides of a rule's limits for one descriptor.",
                       obs::MetricType::kGauge, [raw_impl] {
                         const auto snap = raw_impl->snapshot.load();
                         const Clock::time_point now = raw_impl->clock.Now();
                         return static_cast<double>(std::count_if(snap->overrides->begin(), snap->overrides->end(),
                                                                  [now](const auto& kv) { return kv.second->Live(now); }));
                       });
  Store* raw = store->get();
  registry.AddCallback("keel_ratelimit_store_entries", "Live entries in the embedded store.",
                       obs::MetricType::kGauge, [raw] { return static_cast<double>(raw->Stats().entries); });
  registry.AddCallback("keel_ratelimit_store_capacity", "Entries the embedded store can hold (its cap).",
                       obs::MetricType::kGauge, [raw] { return static_cast<double>(raw->Stats().capacity); });
  registry.AddCallback("keel_ratelimit_store_evictions_total", "Live entries evicted because the store was full.",
                       obs::MetricType::kCounter, [raw] { return static_cast<double>(raw->Stats().evictions); });
  registry.AddCallback("keel_ratelimit_store_bytes", "Memory the embedded store owns.", obs::MetricType::kGauge,
                       [raw] { return static_cast<double>(raw->MemoryBytes()); });
  return std::unique_ptr<Limiter>(new Limiter(std::move(impl), std::move(*store)));
}

void Limiter::SetConfig(std::shared_ptr<const RuleConfig> config) {
  auto stats = impl_->BuildStats(*config);
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  impl_->Publish(std::move(config), std::move(stats), impl_->snapshot.load()->overrides);
}

const Clock& Limiter::clock() const { return impl_->clock; }

std::shared_ptr<const RuleConfig> Limiter::config() const { return impl_->snapshot.load()->config; }

namespace {

enum class CallKind { kRequestOverride, kAdminOverride, kRule };

// One descriptor's trip to the store, and what its answer updates.
struct StoreCall {
  std::size_t index = 0;  // the descriptor's
  CallKind kind = CallKind::kRule;
  const Rule* rule = nullptr;  // kRule, kAdminOverride
  RuleStats stats;
  std::uint64_t key = 0;
  std::int64_t hits = 0;
  std::uint64_t hits_u = 0;
  // The limits: `own` (a request's override), else limits/specs (the rule's
  // or the admin override's), else the plan's kept storage at kept_offset.
  std::optional<Limit> own;
  const Limit* limits = nullptr;
  const LimitRule* const* specs = nullptr;
  std::size_t kept_offset = 0;
  std::size_t n = 0;
};

// A decision between reading the snapshot and answering: the store calls
// it needs. The synchronous path reuses one per thread (no allocation).
struct Plan {
  std::shared_ptr<const Snapshot> snap;
  Clock::time_point now;
  const RateLimitInput* input = nullptr;
  RateLimitOutput* output = nullptr;
  std::vector<StoreCall> calls;
  std::vector<Limit> kept;  // rules' limits minus replaced ones (rare)
  std::vector<const LimitRule*> kept_specs;

  void Reset() {
    calls.clear();
    kept.clear();
    kept_specs.clear();
  }
  std::span<const Limit> Limits(const StoreCall& c) const {
    if (c.own) return {&*c.own, 1};
    if (c.limits != nullptr) return {c.limits, c.n};
    return {kept.data() + c.kept_offset, c.n};
  }
  std::span<const LimitRule* const> Specs(const StoreCall& c) const {
    if (c.specs != nullptr) return {c.specs, c.n};
    if (c.kind != CallKind::kRule || c.own) return {};
    return {kept_specs.data() + c.kept_offset, c.n};
  }
  FailMode ModeOf(const StoreCall& c) const {
    return c.rule && c.rule->fail_mode ? *c.rule->fail_mode : snap->config->fail_mode();
  }
};

// The asynchronous path's plan: shared by the store calls in flight.
struct AsyncPlan : Plan {
  std::mutex mu;  // serializes the completions' writes to *output
  std::atomic<std::size_t> pending{0};
  std::function<void(Status)> done;
};

void Tally(const Rule& rule, const RuleStats& stats, std::uint64_t hits_u, bool over, DescriptorOutput& out,
           RateLimitOutput* output) {
  if (over) {
    stats.over_limit->Inc(hits_u);
    if (rule.shadow_mode) {
      stats.shadow_mode->Inc(hits_u);
    } else {
      out.code = ResponseCode::kOverLimit;
      output->overall_code = ResponseCode::kOverLimit;
    }
  } else {
    stats.within_limit->Inc(hits_u);
  }
}

// Writes a store call's answer into its descriptor's output and counters.
void Complete(const Plan& plan, const StoreCall& c, std::span<const Decision> per_limit) {
  DescriptorOutput& out = plan.output->statuses[c.index];
  const Decision dec = CombineDecisions(per_limit);
  if (c.kind == CallKind::kRequestOverride) {
    out.code = dec.ok() ? ResponseCode::kOk : ResponseCode::kOverLimit;
    out.limit_remaining = dec.remaining;
    out.duration_until_reset = dec.reset_after;
    out.retry_after = dec.retry_after;
    if (!dec.ok()) plan.output->overall_code = ResponseCode::kOverLimit;
    return;
  }
  const bool over = !dec.ok();
  if (c.kind == CallKind::kAdminOverride) {
    out.limit_remaining = dec.remaining;
    out.duration_until_reset = dec.reset_after;
    out.retry_after = dec.retry_after;
    if (!over && dec.limit > 0 && dec.remaining * 5 <= dec.limit) c.stats.near_limit->Inc(c.hits_u);
  } else {
    // The limit that decided: the first denying one, else the one with least remaining.
    std::size_t which = 0;
    for (std::size_t j = 0; j < per_limit.size(); ++j) {
      if (over ? !per_limit[j].ok() : per_limit[j].remaining < per_limit[which].remaining) {
        which = j;
        if (over) break;
      }
    }
    out.current_limit = plan.Specs(c)[which];
    out.limit_remaining = dec.remaining;
    out.duration_until_reset = per_limit[which].reset_after;
    out.retry_after = dec.retry_after;
    if (!over && per_limit[which].limit > 0 && per_limit[which].remaining * 5 <= per_limit[which].limit) {
      c.stats.near_limit->Inc(c.hits_u);
    }
  }
  Tally(*c.rule, c.stats, c.hits_u, over, out, plan.output);
}

}  // namespace

// Pass 1 (the rule of each descriptor, the limit names replaced) and pass 2
// up to the store: answers what needs no store, lists the store calls.
Status Limiter::Prepare(const RateLimitInput& input, RateLimitOutput* output, void* plan_ptr) {
  Plan& plan = *static_cast<Plan*>(plan_ptr);
  if (input.domain.empty()) return InvalidArgument("rate limit domain must not be empty");
  if (input.descriptors.empty()) return InvalidArgument("rate limit descriptor list must not be empty");
  if (input.descriptors.size() > kMaxDescriptorsPerCall) {
    return InvalidArgument("at most 64 descriptors per request");
  }
  // The decision's instant, and the start of its latency (one clock read
  // fewer per call: the limiter's clock is the system's steady clock in
  // production; a simulated one in tests observes 0).
  plan.now = impl_->clock.Now();
  plan.snap = impl_->snapshot.load();
  plan.input = &input;
  plan.output = output;
  const Snapshot& snap = *plan.snap;
  const RuleConfig& config = *snap.config;
  const Clock::time_point now = plan.now;
  output->config = snap.config;
  output->overall_code = ResponseCode::kOk;
  output->statuses.resize(input.descriptors.size());

  std::array<const Rule*, kMaxDescriptorsPerCall> rules{};
  for (std::size_t i = 0; i < input.descriptors.size(); ++i) {
    const DescriptorInput& d = input.descriptors[i];
    rules[i] = d.limit ? nullptr : config.Match(input.domain, d.entries);
  }
  auto replaced = [&](const LimitRule& l) {
    if (l.name.empty()) return false;
    for (std::size_t i = 0; i < input.descriptors.size(); ++i) {
      if (!rules[i]) continue;
      for (const std::string& r : rules[i]->replaces) {
        if (r == l.name) return true;
      }
    }
    return false;
  };

  for (std::size_t i = 0; i < input.descriptors.size(); ++i) {
    const DescriptorInput& d = input.descriptors[i];
    DescriptorOutput& out = output->statuses[i];
    out = DescriptorOutput{};
    StoreCall c;
    c.index = i;
    c.hits = d.hits.value_or(input.hits_addend);
    c.hits_u = static_cast<std::uint64_t>(std::max<std::int64_t>(c.hits, 0));
    c.key = HashDescriptor(input.domain, d.entries, impl_->seed);

    if (d.limit) {
      auto limit = Limit::Create({Algorithm::kFixedWindow, d.limit->unit, d.limit->requests_per_unit, {}, {}});
      out.overridden = true;
      out.override_limit = *d.limit;
      if (!limit.ok()) {  // requests_per_unit 0: nothing passes
        out.code = ResponseCode::kOverLimit;
        out.duration_until_reset = UnitDuration(d.limit->unit);
        output->overall_code = ResponseCode::kOverLimit;
      } else {
        c.kind = CallKind::kRequestOverride;
        c.own = *limit;
        c.n = 1;
        plan.calls.push_back(std::move(c));
      }
      continue;
    }

    const Rule* rule = rules[i];
    if (!rule) continue;  // no rule: OK, no limit
    const OverrideSlot* ov = nullptr;
    if (!snap.overrides->empty()) {
      ov = FindIn(*snap.overrides, c.key, input.domain, d.entries);
      if (ov && !ov->Live(now)) ov = nullptr;
    }
    if (ov ? ov->spec.unlimited : rule->unlimited) {
      out.limit_remaining = kUnlimitedRemaining;
      continue;
    }
    const LimitRule* deny_all = nullptr;
    bool any_replaced = false;
    for (const LimitRule& l : ov ? std::span<const LimitRule>() : std::span<const LimitRule>(rule->limits)) {
      if (replaced(l)) {
        any_replaced = true;
      } else if (!l.limit) {
        deny_all = &l;
      }
    }
    c.rule = rule;
    c.n = rule->store_limits.size();
    c.limits = rule->store_limits.data();
    c.specs = rule->store_limit_rules.data();
    if (any_replaced) {  // the rule's limits minus replaced ones (rare: copied then)
      c.limits = nullptr;
      c.specs = nullptr;
      c.kept_offset = plan.kept.size();
      for (std::size_t j = 0; j < rule->store_limits.size(); ++j) {
        if (replaced(*rule->store_limit_rules[j])) continue;
        plan.kept.push_back(rule->store_limits[j]);
        plan.kept_specs.push_back(rule->store_limit_rules[j]);
      }
      c.n = plan.kept.size() - c.kept_offset;
    }
    if (!ov && c.n == 0 && !deny_all) continue;  // every limit replaced
    c.stats = impl_->StatsFor(snap, rule, d.entries);
    c.stats.total_hits->Inc(c.hits_u);
    if (ov) {
      out.overridden = true;
      out.override_limit = {ov->spec.limit.requests_per_unit, ov->spec.limit.unit};
      if (!ov->limit) {  // requests_per_unit 0
        out.duration_until_reset = UnitDuration(ov->spec.limit.unit);
        Tally(*rule, c.stats, c.hits_u, /*over=*/true, out, output);
        continue;
      }
      c.kind = CallKind::kAdminOverride;
      c.limits = &*ov->limit;  // the snapshot the plan holds keeps it
      c.specs = nullptr;
      c.n = 1;
    } else if (deny_all) {
      out.current_limit = deny_all;
      out.duration_until_reset = UnitDuration(deny_all->spec.unit);
      Tally(*rule, c.stats, c.hits_u, /*over=*/true, out, output);
      continue;
    }
    plan.calls.push_back(std::move(c));
  }
  return Status::Ok();
}

Status Limiter::Decide(const RateLimitInput& input, RateLimitOutput* output) {
  if (impl_->remote != nullptr) {
    std::promise<Status> answered;
    std::future<Status> status = answered.get_future();
    DecideAsync(input, output, [&answered](Status s) { answered.set_value(std::move(s)); });
    return status.get();
  }
  thread_local Plan plan;
  plan.Reset();
  Status s = Prepare(input, output, &plan);
  if (s.ok()) {
    std::array<Decision, Store::kMaxLimitsPerCall> per_limit;
    for (const StoreCall& c : plan.calls) {
      const std::span<const Limit> limits = plan.Limits(c);
      if (limits.size() == 1) {
        per_limit[0] = store_->Apply(c.key, limits[0], c.hits, plan.now);
      } else {
        store_->ApplyAll(c.key, limits, c.hits, plan.now, std::span<Decision>(per_limit.data(), limits.size()));
      }
      Complete(plan, c, std::span<const Decision>(per_limit.data(), limits.size()));
    }
    impl_->decision_seconds->Observe(std::chrono::duration<double>(impl_->clock.Now() - plan.now).count());
  }
  plan.snap.reset();  // the config may be replaced: do not hold it past the call
  return s;
}

void Limiter::DecideAsync(const RateLimitInput& input, RateLimitOutput* output,
                          std::function<void(Status)> done) {
  if (impl_->remote == nullptr) {
    done(Decide(input, output));
    return;
  }
  auto plan = std::make_shared<AsyncPlan>();
  Status s = Prepare(input, output, plan.get());
  if (!s.ok() || plan->calls.empty()) {
    if (s.ok()) {
      impl_->decision_seconds->Observe(std::chrono::duration<double>(impl_->clock.Now() - plan->now).count());
    }
    done(std::move(s));
    return;
  }
  plan->done = std::move(done);
  plan->pending.store(plan->calls.size());
  Impl* impl = impl_.get();
  for (std::size_t i = 0; i < plan->calls.size(); ++i) {
    const StoreCall& c = plan->calls[i];
    RemoteStore::Call call{input.domain, input.descriptors[c.index].entries, c.key, plan->Limits(c),
                           c.hits,       plan->now,                          plan->ModeOf(c)};
    impl->remote->ApplyAll(call, [plan, i, impl](std::span<const Decision> per_limit, bool) {
      {
        std::lock_guard<std::mutex> lock(plan->mu);
        Complete(*plan, plan->calls[i], per_limit);
      }
      if (plan->pending.fetch_sub(1) == 1) {
        impl->decision_seconds->Observe(std::chrono::duration<double>(impl->clock.Now() - plan->now).count());
        plan->done(Status::Ok());
      }
    });
  }
}

bool Limiter::remote() const { return impl_->remote != nullptr; }

Status Limiter::Inspect(std::string_view domain, std::span<const DescriptorEntry> entries,
                        RateLimitOutput* output) {
  const auto snap = impl_->snapshot.load();
  if (!snap->config->Match(domain, entries)) return Status(StatusCode::kNotFound, "no rule matches this descriptor");
  RateLimitInput input;
  input.domain = domain;
  input.hits_addend = 0;
  input.descriptors.push_back({std::vector<DescriptorEntry>(entries.begin(), entries.end()), std::nullopt, 0});
  return Decide(input, output);
}

Status Limiter::Reset(std::string_view domain, std::span<const DescriptorEntry> entries) {
  const auto snap = impl_->snapshot.load();
  const Rule* rule = snap->config->Match(domain, entries);
  if (!rule) return Status(StatusCode::kNotFound, "no rule matches this descriptor");
  const std::uint64_t key = HashDescriptor(domain, entries, impl_->seed);
  const Clock::time_point now = impl_->clock.Now();
  // A refund of more than any capacity brings the state back to full.
  constexpr std::int64_t kRefundAll = -static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::max());
  auto refund = [&](const Limit& limit) {
    if (impl_->remote == nullptr) {
      store_->Apply(key, limit, kRefundAll, now);
      return;
    }
    // Redis down: the local share is reset (the fail mode a reset can keep).
    std::promise<void> refunded;
    impl_->remote->ApplyAll({domain, entries, key, std::span<const Limit>(&limit, 1), kRefundAll, now, FailMode::kLocal},
                            [&refunded](std::span<const Decision>, bool) { refunded.set_value(); });
    refunded.get_future().wait();
  };
  for (const LimitRule& l : rule->limits) {
    if (l.limit) refund(*l.limit);
  }
  if (const OverrideSlot* ov = FindIn(*snap->overrides, key, domain, entries); ov && ov->limit) {
    refund(*ov->limit);
  }
  return Status::Ok();
}

Status Limiter::PutOverride(KeyOverride o) {
  if (o.domain.empty()) return InvalidArgument("domain: required");
  if (o.entries.empty()) return InvalidArgument("entries: required non-empty list");
  if (o.entries.size() > kMaxDescriptorsPerCall) return InvalidArgument("entries: at most 64");
  std::vector<DescriptorEntry> views;
  for (std::size_t i = 0; i < o.entries.size(); ++i) {
    if (o.entries[i].key.empty()) return InvalidArgument("entries[" + std::to_string(i) + "].key: required");
    views.push_back(o.entries[i].view());
  }
  auto slot = std::make_shared<OverrideSlot>();
  if (!o.unlimited && o.limit.requests_per_unit > 0) {
    auto limit = Limit::Create(o.limit);
    if (!limit.ok()) return InvalidArgument("limit: " + limit.status().message());
    slot->limit = *limit;
  } else if (!o.unlimited && (o.limit.burst || o.limit.lease_ttl)) {
    return InvalidArgument("limit: requests_per_unit 0 (deny all) takes no burst or lease_ttl");
  }
  const Clock::time_point now = impl_->clock.Now();
  if (o.expires_at && *o.expires_at <= now) return InvalidArgument("expiry must be in the future");
  const std::uint64_t key = HashDescriptor(o.domain, views, impl_->seed);

  std::lock_guard<std::mutex> lock(impl_->write_mu);
  const auto snap = impl_->snapshot.load();
  if (!snap->config->Match(o.domain, views)) return NotFound("no rule matches this descriptor");
  const OverrideSlot* old = FindIn(*snap->overrides, key, o.domain, views);
  auto table = Impl::Pruned(*snap->overrides, now, old);
  if (table->size() >= impl_->max_overrides) {
    return ResourceExhausted("at most " + std::to_string(impl_->max_overrides) +
                             " overrides (ratelimit.max_overrides); delete some first");
  }
  slot->spec = std::move(o);
  table->emplace(key, std::move(slot));
  impl_->Publish(snap->config, snap->stats, std::move(table));
  return Status::Ok();
}

Status Limiter::DeleteOverride(std::string_view domain, std::span<const DescriptorEntry> entries) {
  const std::uint64_t key = HashDescriptor(domain, entries, impl_->seed);
  const Clock::time_point now = impl_->clock.Now();
  std::lock_guard<std::mutex> lock(impl_->write_mu);
  const auto snap = impl_->snapshot.load();
  const OverrideSlot* old = FindIn(*snap->overrides, key, domain, entries);
  if (!old || !old->Live(now)) return NotFound("no override for this descriptor");
  impl_->Publish(snap->config, snap->stats, Impl::Pruned(*snap->overrides, now, old));
  return Status::Ok();
}

std::vector<KeyOverride> Limiter::Overrides() const {
  const auto snap = impl_->snapshot.load();
  const Clock::time_point now = impl_->clock.Now();
  std::vector<KeyOverride> out;
  for (const auto& [key, slot] : *snap->overrides) {
    if (slot->Live(now)) out.push_back(slot->spec);
  }
  auto order = [](const KeyOverride& o) {
    std::vector<std::string_view> parts{o.domain};
    for (const OwnedEntry& e : o.entries) {
      parts.push_back(e.key);
      parts.push_back(e.value);
    }
    return parts;
  };
  std::sort(out.begin(), out.end(), [&](const KeyOverride& a, const KeyOverride& b) { return order(a) < order(b); });
  return out;
}

std::optional<KeyOverride> Limiter::FindOverride(std::string_view domain,
                                                 std::span<const DescriptorEntry> entries) const {
  const auto snap = impl_->snapshot.load();
  const OverrideSlot* slot = FindIn(*snap->overrides, HashDescriptor(domain, entries, impl_->seed), domain, entries);
  if (!slot || !slot->Live(impl_->clock.Now())) return std::nullopt;
  return slot->spec;
}

}  // namespace keel::ratelimit
