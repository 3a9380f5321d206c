// The Redis side of `keel serve ratelimit --store redis://...`: the config
// keys, a thread running the Redis client's event loop, the client (one
// server, or a Redis Cluster) and the RedisStore on top.
//
//   config keys (declared by AddRedisStoreKeys):
//     redis.url                 redis://[[user]:password@]HOST:PORT[/db] or
//                               redis-cluster://H1:P1,H2:P2,...; empty or `memory`: embedded store
//     redis.password            AUTH password (overrides the URL's)
//     redis.timeout             per decision (default 5ms), then the fail mode
//     redis.pool_size           connections per server (default 2)
//     ratelimit.store.local_share      this instance's share of a limit in the
//                                      `local` fail mode (default 1: one instance)
//     ratelimit.store.breaker_wait     how long the breaker stays open (default 500ms)
//     ratelimit.hot_keys.factor        x the median rate that makes a key hot (10; 0: off)
//     ratelimit.hot_keys.cache_ttl     longest a hot key's denial is served locally (50ms)
//
//   auto backend = RedisBackend::Create(cfg, *local_store, registry);
//   options.remote = &(*backend)->store();
//   ... serve ...
//   (*backend)->Shutdown();   // after the front ends stopped, before the limiter goes
//
// Thread-safety: Create and Shutdown from one thread; store() from any.
#pragma once

#include <memory>

#include "keel/base/status.h"
#include "keel/config/config.h"
#include "keel/obs/metrics.h"
#include "keel/ratelimit/store.h"
#include "redis_store.h"

namespace keel::ratelimit {

void AddRedisStoreKeys(config::Schema& schema);

class RedisBackend {
 public:
  // Null (and OK) when redis.url is empty or "memory". InvalidArgument for a bad URL or
  // option; the connections are made in the background (a Redis that is down
  // at start is the fail mode's business, not a startup error).
  static StatusOr<std::unique_ptr<RedisBackend>> Create(const config::Config& cfg, Store& local,
                                                        obs::Registry& registry);
  ~RedisBackend();

  RedisStore& store() { return *store_; }
  // Drops the calls in flight (their callbacks do not run), destroys the
  // client on its loop and joins the thread. Idempotent.
  void Shutdown();

 private:
  struct Loop;
  RedisBackend() = default;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<RedisStore> store_;
};

}  // namespace keel::ratelimit
