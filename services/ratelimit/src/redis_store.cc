#include "redis_store.h"

#include <array>
#include <string>
#include <vector>

#include "redis_script.h"

namespace keel::ratelimit {

namespace {

constexpr Duration kClosedRetryAfter = std::chrono::seconds(1);

const std::vector<double>& StoreBuckets() {
  static const std::vector<double> kBuckets = {5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 5e-2};
  return kBuckets;
}

std::string_view ErrorLabel(redis::ErrorKind kind) {
  switch (kind) {
    case redis::ErrorKind::kTimeout: return "timeout";
    case redis::ErrorKind::kConnection: return "connection";
    case redis::ErrorKind::kProtocol: return "protocol";
    case redis::ErrorKind::kRedirects: return "redirects";
    default: return "other";
  }
}

}  // namespace

struct RedisStore::Metrics {
  obs::Counter* degraded_open;
  obs::Counter* degraded_closed;
  obs::Counter* degraded_local;
  obs::CounterFamily* errors;  // {kind}
  obs::Histogram* duration;
  obs::Counter* hot_answers;
};

// One call in flight: a copy of what the fail mode needs once the views of
// the Call are gone.
struct RedisStore::Pending {
  std::uint64_t key_hash = 0;
  std::uint64_t cache_key = 0;  // hot-key cache (single-limit calls)
  std::vector<Limit> limits;
  std::int64_t hits = 0;
  Clock::time_point now;
  Clock::time_point sent;
  FailMode fail_mode = FailMode::kOpen;
  bool hot = false;
  resilience::CircuitBreaker* breaker = nullptr;  // the one that let it through
  Done done;
};

StatusOr<std::unique_ptr<RedisStore>> RedisStore::Create(redis::Executor& executor, Store& local,
                                                         const RedisStoreOptions& options,
                                                         const Clock& clock, obs::Registry& registry) {
  if (options.timeout <= Duration::zero()) return InvalidArgument("redis store: timeout must be positive");
  if (!(options.local_share > 0 && options.local_share <= 1)) {
    return InvalidArgument("redis store: local_share must be in (0, 1]");
  }
  if (options.hot_key_factor < 0 || (options.hot_key_factor > 0 && options.hot_key_factor < 1)) {
    return InvalidArgument("redis store: hot key factor must be 0 (off) or >= 1");
  }
  auto breaker = resilience::CircuitBreaker::Create(options.breaker, clock, registry, "ratelimit_store");
  if (!breaker.ok()) return breaker.status();
  std::unique_ptr<HotKeys> hot;
  if (options.hot_key_factor > 0) {
    auto created = HotKeys::Create({.factor = options.hot_key_factor});
    if (!created.ok()) return created.status();
    hot = std::move(*created);
  }
  auto metrics = std::make_unique<Metrics>();
  auto& degraded = registry.AddCounter("keel_ratelimit_degraded_decisions_total",
                                       "Descriptors decided by their fail mode because Redis did not answer.",
                                       {"fail_mode"});
  metrics->degraded_open = degraded.Get({"open"});
  metrics->degraded_closed = degraded.Get({"closed"});
  metrics->degraded_local = degraded.Get({"local"});
  metrics->errors = &registry.AddCounter("keel_ratelimit_store_errors_total",
                                         "Redis store calls that got no usable answer, by kind.", {"kind"});
  metrics->duration = registry
                          .AddHistogram("keel_ratelimit_store_duration_seconds",
                                        "Redis store calls, from send to answer (answered calls only).", {},
                                        StoreBuckets())
                          .Get({});
  metrics->hot_answers = registry
                             .AddCounter("keel_ratelimit_hot_cache_answers_total",
                                         "Over-limit answers for hot keys served without a Redis call.", {})
                             .Get({});
  std::unique_ptr<RedisStore> store(new RedisStore(executor, local, options, clock, registry, std::move(*breaker),
                                                   std::move(hot), std::move(metrics)));
  RedisStore* raw = store.get();
  registry.AddCallback("keel_ratelimit_store_degraded",
                       "1 while a Redis store circuit breaker asked recently is not closed (decisions by fail mode).",
                       obs::MetricType::kGauge, [raw] { return raw->degraded() ? 1.0 : 0.0; });
  return store;
}

RedisStore::RedisStore(redis::Executor& executor, Store& local, const RedisStoreOptions& options,
                       const Clock& clock, obs::Registry& registry,
                       std::unique_ptr<resilience::CircuitBreaker> breaker, std::unique_ptr<HotKeys> hot,
                       std::unique_ptr<Metrics> metrics)
    : executor_(executor),
      local_(local),
      options_(options),
      clock_(clock),
      script_(std::make_shared<redis::Script>(std::string(ApplyScript()))),
      registry_(registry),
      hot_(std::move(hot)),
      cache_(hot_ ? std::make_unique<OverLimitCache>(4096, options.hot_cache_ttl) : nullptr),
      metrics_(std::move(metrics)) {
  default_breaker_.breaker = std::move(breaker);
}

RedisStore::~RedisStore() = default;

RedisStore::Breaker& RedisStore::BreakerFor(std::string_view key) {
  const std::string shard = executor_.ShardOf(key);
  Breaker* b = &default_breaker_;
  if (!shard.empty()) {
    std::lock_guard lock(shards_mu_);
    auto it = shards_.find(shard);
    if (it == shards_.end()) {
      // The options were validated when the default breaker was made.
      auto created = resilience::CircuitBreaker::Create(options_.breaker, clock_, registry_, "ratelimit_store@" + shard);
      if (created.ok()) {
        auto entry = std::make_unique<Breaker>();
        entry->breaker = std::move(*created);
        it = shards_.emplace(shard, std::move(entry)).first;
      }
    }
    if (it != shards_.end()) b = it->second.get();
  }
  b->last_asked.store(clock_.Now().time_since_epoch().count(), std::memory_order_relaxed);
  return *b;
}

bool RedisStore::Recent(const Breaker& b, Clock::time_point now) const {
  const Duration recent = std::max<Duration>(std::chrono::seconds(1), 2 * options_.breaker.wait_in_open);
  const Clock::time_point asked{Clock::duration(b.last_asked.load(std::memory_order_relaxed))};
  return now - asked <= recent;
}

bool RedisStore::degraded() const {
  using State = resilience::CircuitBreaker::State;
  const Clock::time_point now = clock_.Now();
  std::lock_guard lock(shards_mu_);
  // One server: its breaker, asked or not. A cluster: the breakers asked
  // lately (a failed-over primary's is no longer asked).
  if (default_breaker_.breaker->state() != State::kClosed && (shards_.empty() || Recent(default_breaker_, now))) {
    return true;
  }
  for (const auto& [shard, b] : shards_) {
    if (b->breaker->state() != State::kClosed && Recent(*b, now)) return true;
  }
  return false;
}

void RedisStore::ApplyAll(const Call& call, Done done) {
  auto p = std::make_shared<Pending>();
  p->key_hash = call.key_hash;
  p->limits.assign(call.limits.begin(), call.limits.end());
  p->hits = call.hits;
  p->now = call.now;
  p->fail_mode = call.fail_mode;
  p->done = std::move(done);
  if (hot_ && p->limits.size() == 1 && p->hits > 0) {
    p->cache_key = call.key_hash ^ (p->limits[0].fingerprint() * 0x9E3779B97F4A7C15ULL);
    p->hot = hot_->Record(p->cache_key, call.now);
    Decision cached;
    if (p->hot && cache_->Lookup(p->cache_key, call.now, &cached)) {
      metrics_->hot_answers->Inc();
      p->done(std::span<const Decision>(&cached, 1), false);
      return;
    }
  }
  std::array<std::string, Store::kMaxLimitsPerCall> keys;
  std::array<std::string_view, Store::kMaxLimitsPerCall> key_views;
  for (std::size_t i = 0; i < p->limits.size(); ++i) {
    keys[i] = StateKey(call.domain, call.entries, p->limits[i]);
    key_views[i] = keys[i];
  }
  // Every key of a call shares one hash tag, hence one shard.
  resilience::CircuitBreaker& breaker = *BreakerFor(key_views[0]).breaker;
  if (!breaker.TryAcquire()) {
    Degrade(*p);
    return;
  }
  p->breaker = &breaker;
  std::vector<std::string> args;
  args.reserve(2 + 5 * p->limits.size());
  AppendApplyArgs(p->limits, p->hits, /*now_us=*/0, &args);
  std::vector<std::string_view> arg_views(args.begin(), args.end());
  p->sent = clock_.Now();
  redis::EvalSha(executor_, script_, std::span<const std::string_view>(key_views.data(), p->limits.size()),
                 arg_views, {.timeout = options_.timeout},
                 [this, p](StatusOr<redis::Reply> reply) { OnReply(p, std::move(reply)); });
}

void RedisStore::OnReply(const std::shared_ptr<Pending>& p, StatusOr<redis::Reply> reply) {
  const Duration took = clock_.Now() - p->sent;
  std::array<Decision, Store::kMaxLimitsPerCall> per_limit;
  const std::span<Decision> decisions(per_limit.data(), p->limits.size());
  std::string_view error;
  if (!reply.ok()) {
    error = ErrorLabel(redis::ErrorKindOf(reply.status()));
  } else if (reply->type != redis::ReplyType::kArray) {
    error = reply->is_error() ? "error_reply" : "bad_reply";
  } else {
    std::array<std::int64_t, Store::kMaxLimitsPerCall * kApplyReplyWidth> ints{};
    bool integers = reply->elements.size() <= ints.size();
    for (std::size_t i = 0; integers && i < reply->elements.size(); ++i) {
      integers = reply->elements[i].type == redis::ReplyType::kInteger;
      if (integers) ints[i] = reply->elements[i].integer;
    }
    if (!integers || !ParseApplyReply(std::span<const std::int64_t>(ints.data(), reply->elements.size()),
                                      decisions)
                          .ok()) {
      error = "bad_reply";
    }
  }
  if (!error.empty()) {
    p->breaker->OnFailure(took);
    metrics_->errors->Get({error})->Inc();
    Degrade(*p);
    return;
  }
  p->breaker->OnSuccess(took);
  metrics_->duration->Observe(std::chrono::duration<double>(took).count());
  if (p->hot && !per_limit[0].ok()) cache_->Insert(p->cache_key, per_limit[0], p->now);
  p->done(decisions, false);
}

void RedisStore::Degrade(Pending& p) {
  std::array<Decision, Store::kMaxLimitsPerCall> per_limit;
  const std::size_t n = p.limits.size();
  switch (p.fail_mode) {
    case FailMode::kOpen:
      metrics_->degraded_open->Inc();
      for (std::size_t i = 0; i < n; ++i) {
        per_limit[i] = Decision{Code::kOk, p.limits[i].capacity(), p.limits[i].capacity(), Duration(0), Duration(0)};
      }
      break;
    case FailMode::kClosed:
      metrics_->degraded_closed->Inc();
      for (std::size_t i = 0; i < n; ++i) {
        per_limit[i] = Decision{Code::kOverLimit, p.limits[i].capacity(), 0, kClosedRetryAfter, kClosedRetryAfter};
      }
      break;
    case FailMode::kLocal: {
      metrics_->degraded_local->Inc();
      std::vector<Limit> scaled;
      scaled.reserve(n);
      for (std::size_t i = 0; i < n; ++i) scaled.push_back(p.limits[i].Scaled(options_.local_share));
      local_.ApplyAll(p.key_hash, scaled, p.hits, p.now, std::span<Decision>(per_limit.data(), n));
      break;
    }
  }
  p.done(std::span<const Decision>(per_limit.data(), n), true);
}

}  // namespace keel::ratelimit
