// RedisStore: the rate limiter's state in Redis or Redis Cluster, shared by
// every Keel instance that points at it (issue 11). Each descriptor is one
// EVALSHA of the store's Lua script (redis_script.h) — every limit of the
// descriptor decided atomically, in one round trip, pipelined with the other
// decisions in flight by the core client (keel/redis).
//
// When Redis does not answer within `timeout` (or answers an error), or the
// circuit breaker in front of it is open, the call's fail mode decides:
//   open    allow (remaining = the limit);
//   closed  deny, Retry-After 1 s;
//   local   the embedded Store, with each limit scaled to `local_share`
//           (this instance's part of the limit: 1 / instances).
// The breaker (core/resilience, Resilience4j semantics) opens when half of
// the last `breaker.window_size` calls failed, stops waiting on a dead Redis
// for `breaker.wait_in_open`, then lets a few probes through; decisions go
// back to Redis as soon as the probes succeed. On a Redis Cluster there is one
// breaker per primary (Executor::ShardOf), so that one slow or dead shard
// opens its own breaker — its keys answered by their fail mode at once —
// while the other shards' keys stay on Redis.
//
// Hot keys: a descriptor flagged by HotKeys (hot_keys.h) whose single limit
// Redis denied is answered from an OverLimitCache until min(retry_after,
// hot_cache_ttl), without a round trip; see hot_keys.h for why that is the
// answer Redis would give.
//
// Metrics: keel_ratelimit_store_degraded (1 while a breaker asked in the last
// second, or twice breaker.wait_in_open, is not closed),
// keel_ratelimit_degraded_decisions_total{fail_mode},
// keel_ratelimit_store_errors_total{kind}, keel_ratelimit_store_duration_seconds,
// keel_ratelimit_hot_cache_answers_total, and the breaker's keel_breaker_*
// series with name="ratelimit_store" (one Redis) or
// name="ratelimit_store@HOST:PORT" (each cluster primary).
//
// Thread-safety: ApplyAll from any thread; `done` runs on the Redis client's
// thread, or inline when the breaker or the hot-key cache answers. The
// executor, local store, clock and registry must outlive the store.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"
#include "keel/ratelimit/hot_keys.h"
#include "keel/ratelimit/remote_store.h"
#include "keel/ratelimit/store.h"
#include "keel/redis/executor.h"
#include "keel/redis/script.h"
#include "keel/resilience/circuit_breaker.h"

namespace keel::ratelimit {

struct RedisStoreOptions {
  Duration timeout = std::chrono::milliseconds(5);
  double local_share = 1.0;  // (0, 1]
  resilience::CircuitBreakerOptions breaker = DefaultBreaker();
  double hot_key_factor = 10;  // 0: no hot-key detection
  Duration hot_cache_ttl = std::chrono::milliseconds(50);

  static resilience::CircuitBreakerOptions DefaultBreaker() {
    resilience::CircuitBreakerOptions b;
    b.window_size = 100;
    b.minimum_calls = 20;
    b.failure_rate_threshold = 50;
    b.wait_in_open = std::chrono::milliseconds(500);
    b.half_open_calls = 5;
    b.max_wait_in_half_open = std::chrono::seconds(1);
    return b;
  }
};

class RedisStore final : public RemoteStore {
 public:
  // InvalidArgument for a non-positive timeout, a share outside (0, 1], a
  // negative hot-key factor or bad breaker options.
  static StatusOr<std::unique_ptr<RedisStore>> Create(redis::Executor& executor, Store& local,
                                                      const RedisStoreOptions& options,
                                                      const Clock& clock, obs::Registry& registry);
  ~RedisStore() override;

  void ApplyAll(const Call& call, Done done) override;

  // True while a breaker asked recently is not closed (decisions are, or may
  // be, degraded).
  bool degraded() const;

 private:
  struct Metrics;
  struct Pending;
  // A breaker and when it was last asked (clock_ ticks since its epoch).
  struct Breaker {
    std::unique_ptr<resilience::CircuitBreaker> breaker;
    std::atomic<Clock::duration::rep> last_asked{0};
  };
  RedisStore(redis::Executor& executor, Store& local, const RedisStoreOptions& options,
             const Clock& clock, obs::Registry& registry, std::unique_ptr<resilience::CircuitBreaker> breaker,
             std::unique_ptr<HotKeys> hot, std::unique_ptr<Metrics> metrics);
  // The breaker for the server `key` goes to (the default one when the
  // executor has one server, or does not know the key's yet), marked asked.
  Breaker& BreakerFor(std::string_view key);
  bool Recent(const Breaker& b, Clock::time_point now) const;
  // Decides `p` by its fail mode and calls its done.
  void Degrade(Pending& p);
  void OnReply(const std::shared_ptr<Pending>& p, StatusOr<redis::Reply> reply);

  redis::Executor& executor_;
  Store& local_;
  const RedisStoreOptions options_;
  const Clock& clock_;
  const std::shared_ptr<redis::Script> script_;
  obs::Registry& registry_;
  Breaker default_breaker_;
  mutable std::mutex shards_mu_;
  std::map<std::string, std::unique_ptr<Breaker>, std::less<>> shards_;  // by primary; never erased
  std::unique_ptr<HotKeys> hot_;           // null: off
  std::unique_ptr<OverLimitCache> cache_;  // with hot_
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace keel::ratelimit
