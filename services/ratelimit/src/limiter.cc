#include "keel/ratelimit/limiter.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <mutex>
#include <random>
#include <unordered_map>

#include "keel/ratelimit/key_hash.h"

namespace keel::ratelimit {
namespace {

constexpr std::uint32_t kUnlimitedRemaining = std::numeric_limits<std::uint32_t>::max();

const std::vector<double>& DecisionBuckets() {
  static const std::vector<double> kBuckets = {1e-6,   2e-6, 5e-6,   1e-5, 2e-5, 5e-5,
                                               1e-4,   2.5e-4, 5e-4, 1e-3, 5e-3};
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

Status Limiter::Decide(const RateLimitInput& input, RateLimitOutput* output) {
  if (input.domain.empty()) return InvalidArgument("rate limit domain must not be empty");
  if (input.descriptors.empty()) return InvalidArgument("rate limit descriptor list must not be empty");
  // The decision's instant, and the start of its latency (one clock read
  // fewer per call: the limiter's clock is the system's steady clock in
  // production; a simulated one in tests observes 0).
  const Clock::time_point now = impl_->clock.Now();
  const std::shared_ptr<const Snapshot> snap = impl_->snapshot.load();
  const RuleConfig& config = *snap->config;
  output->config = snap->config;
  output->overall_code = ResponseCode::kOk;
  output->statuses.resize(input.descriptors.size());

  // Pass 1: the rule of each descriptor, and the limit names replaced.
  if (input.descriptors.size() > kMaxDescriptorsPerCall) {
    return InvalidArgument("at most 64 descriptors per request");
  }
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
    const std::int64_t hits = d.hits.value_or(input.hits_addend);
    const std::uint64_t key = HashDescriptor(input.domain, d.entries, impl_->seed);

    if (d.limit) {
      auto limit = Limit::Create({Algorithm::kFixedWindow, d.limit->unit, d.limit->requests_per_unit, {}, {}});
      out.overridden = true;
      out.override_limit = *d.limit;
      if (!limit.ok()) {  // requests_per_unit 0: nothing passes
        out.code = ResponseCode::kOverLimit;
        out.duration_until_reset = UnitDuration(d.limit->unit);
      } else {
        const Decision dec = store_->Apply(key, *limit, hits, now);
        out.code = dec.ok() ? ResponseCode::kOk : ResponseCode::kOverLimit;
        out.limit_remaining = dec.remaining;
        out.duration_until_reset = dec.reset_after;
        out.retry_after = dec.retry_after;
      }
      if (out.code == ResponseCode::kOverLimit) output->overall_code = ResponseCode::kOverLimit;
      continue;
    }

    const Rule* rule = rules[i];
    if (!rule) continue;  // no rule: OK, no limit
    const OverrideSlot* ov = nullptr;
    if (!snap->overrides->empty()) {
      ov = FindIn(*snap->overrides, key, input.domain, d.entries);
      if (ov && !ov->Live(now)) ov = nullptr;
    }
    if (ov ? ov->spec.unlimited : rule->unlimited) {
      out.limit_remaining = kUnlimitedRemaining;
      continue;
    }
    // The rule's limits, minus replaced ones (rare: copied then).
    std::span<const Limit> limits(rule->store_limits);
    std::span<const LimitRule* const> specs(rule->store_limit_rules);
    const LimitRule* deny_all = nullptr;
    bool any_replaced = false;
    for (const LimitRule& l : ov ? std::span<const LimitRule>() : std::span<const LimitRule>(rule->limits)) {
      if (replaced(l)) {
        any_replaced = true;
      } else if (!l.limit) {
        deny_all = &l;
      }
    }
    thread_local std::vector<Limit> kept;
    thread_local std::vector<const LimitRule*> kept_specs;
    if (any_replaced) {
      kept.clear();
      kept_specs.clear();
      for (std::size_t j = 0; j < limits.size(); ++j) {
        if (replaced(*specs[j])) continue;
        kept.push_back(limits[j]);
        kept_specs.push_back(specs[j]);
      }
      limits = kept;
      specs = kept_specs;
    }
    const std::size_t n = limits.size();
    if (!ov && n == 0 && !deny_all) continue;  // every limit replaced
    const RuleStats stats = impl_->StatsFor(*snap, rule, d.entries);
    const auto hits_u = static_cast<std::uint64_t>(std::max<std::int64_t>(hits, 0));
    stats.total_hits->Inc(hits_u);
    bool over = false;
    if (ov) {
      out.overridden = true;
      out.override_limit = {ov->spec.limit.requests_per_unit, ov->spec.limit.unit};
      if (!ov->limit) {  // requests_per_unit 0
        over = true;
        out.duration_until_reset = UnitDuration(ov->spec.limit.unit);
      } else {
        const Decision dec = store_->Apply(key, *ov->limit, hits, now);
        over = !dec.ok();
        out.limit_remaining = dec.remaining;
        out.duration_until_reset = dec.reset_after;
        out.retry_after = dec.retry_after;
        if (!over && dec.limit > 0 && dec.remaining * 5 <= dec.limit) stats.near_limit->Inc(hits_u);
      }
    } else if (deny_all) {
      over = true;
      out.current_limit = deny_all;
      out.duration_until_reset = UnitDuration(deny_all->spec.unit);
    } else {
      std::array<Decision, Store::kMaxLimitsPerCall> per_limit;
      const Decision dec = store_->ApplyAll(key, limits, hits, now, std::span<Decision>(per_limit.data(), n));
      // The limit that decided: the first denying one, else the one with least remaining.
      std::size_t which = 0;
      for (std::size_t j = 0; j < n; ++j) {
        if (!dec.ok() ? !per_limit[j].ok() : per_limit[j].remaining < per_limit[which].remaining) {
          which = j;
          if (!dec.ok()) break;
        }
      }
      over = !dec.ok();
      out.current_limit = specs[which];
      out.limit_remaining = dec.remaining;
      out.duration_until_reset = per_limit[which].reset_after;
      out.retry_after = dec.retry_after;
      if (!over && per_limit[which].limit > 0 &&
          per_limit[which].remaining * 5 <= per_limit[which].limit) {
        stats.near_limit->Inc(hits_u);
      }
    }
    if (over) {
      stats.over_limit->Inc(hits_u);
      if (rule->shadow_mode) {
        stats.shadow_mode->Inc(hits_u);
      } else {
        out.code = ResponseCode::kOverLimit;
        output->overall_code = ResponseCode::kOverLimit;
      }
    } else {
      stats.within_limit->Inc(hits_u);
    }
  }
  impl_->decision_seconds->Observe(std::chrono::duration<double>(impl_->clock.Now() - now).count());
  return Status::Ok();
}

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
  for (const LimitRule& l : rule->limits) {
    if (l.limit) store_->Apply(key, *l.limit, kRefundAll, now);
  }
  if (const OverrideSlot* ov = FindIn(*snap->overrides, key, domain, entries); ov && ov->limit) {
    store_->Apply(key, *ov->limit, kRefundAll, now);
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
