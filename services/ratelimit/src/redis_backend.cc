#include "redis_backend.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "keel/obs/log.h"
#include "keel/redis/client.h"
#include "keel/redis/cluster_client.h"
#include "keel/redis/url.h"

namespace keel::ratelimit {

void AddRedisStoreKeys(config::Schema& schema) {
  using config::Type;
  auto real = [](std::string key, std::string def, std::string help, double lo, double hi) {
    config::KeySpec k{std::move(key), Type::kDouble, std::move(def), std::move(help)};
    k.min_double = lo;
    k.max_double = hi;
    return k;
  };
  schema
      .Add({"redis.url", Type::kString, "",
            "redis://HOST:PORT or redis-cluster://H1:P1,H2:P2 for the shared store; empty: embedded store"})
      .Add({"redis.password", Type::kString, "", "Redis AUTH password (overrides the URL's)"})
      .Add({"redis.timeout", Type::kDuration, "5ms", "longest wait for Redis per decision, then the fail mode",
            1, 60000})
      .Add({"redis.pool_size", Type::kInt, "2", "connections per Redis server", 1, 64})
      .Add(real("ratelimit.store.local_share", "1",
                "this instance's share of each limit when deciding locally (fail_mode local): 1 / instances",
                1e-6, 1))
      .Add({"ratelimit.store.breaker_wait", Type::kDuration, "500ms",
            "how long the store's circuit breaker stays open before probing Redis", 1, 600000})
      .Add(real("ratelimit.hot_keys.factor", "10",
                "a key over this many times the median rate is hot (its denials cached); 0: off", 0, 1e6))
      .Add({"ratelimit.hot_keys.cache_ttl", Type::kDuration, "50ms",
            "longest a hot key's over-limit answer is served without Redis", 1, 10000});
}

struct RedisBackend::Loop {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<redis::Executor> client;
  std::thread thread;

  void Start() {
    thread = std::thread([this] { io.run(); });
  }
  // Runs fn on the loop and waits (the loop's thread must not call this).
  void RunOnLoop(std::function<void()> fn) {
    std::promise<void> done;
    boost::asio::post(io, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
};

StatusOr<std::unique_ptr<RedisBackend>> RedisBackend::Create(const config::Config& cfg, Store& local,
                                                             obs::Registry& registry) {
  const std::string url_text = cfg.GetString("redis.url");
  if (url_text.empty() || url_text == "memory") return std::unique_ptr<RedisBackend>();
  auto url = redis::ParseRedisUrl(url_text);
  if (!url.ok()) return InvalidArgument("redis.url: " + url.status().message());
  const std::string password = cfg.GetString("redis.password").empty() ? url->password
                                                                        : cfg.GetString("redis.password");
  const Duration timeout = cfg.GetDuration("redis.timeout");
  std::unique_ptr<RedisBackend> backend(new RedisBackend());
  backend->loop_ = std::make_unique<Loop>();
  Loop& loop = *backend->loop_;
  if (url->cluster) {
    redis::ClusterOptions o;
    o.seeds = url->Addresses();
    o.username = url->username;
    o.password = password;
    o.command_timeout = timeout;
    o.pool_size = static_cast<std::size_t>(cfg.GetInt("redis.pool_size"));
    auto client = redis::ClusterClient::Create(loop.io, o, registry);
    if (!client.ok()) return InvalidArgument("redis.url: " + client.status().message());
    loop.client = std::move(*client);
  } else {
    redis::ClientOptions o;
    o.host = url->hosts[0].host;
    o.port = url->hosts[0].port;
    o.username = url->username;
    o.password = password;
    o.db = url->db;
    o.command_timeout = timeout;
    o.pool_size = static_cast<std::size_t>(cfg.GetInt("redis.pool_size"));
    auto client = redis::Client::Create(loop.io, o, registry);
    if (!client.ok()) return InvalidArgument("redis.url: " + client.status().message());
    loop.client = std::move(*client);
  }
  RedisStoreOptions options;
  options.timeout = timeout;
  options.local_share = cfg.GetDouble("ratelimit.store.local_share");
  options.breaker.wait_in_open = cfg.GetDuration("ratelimit.store.breaker_wait");
  options.hot_key_factor = cfg.GetDouble("ratelimit.hot_keys.factor");
  if (options.hot_key_factor > 0 && options.hot_key_factor < 1) {
    return InvalidArgument("ratelimit.hot_keys.factor: 0 (off) or at least 1");
  }
  options.hot_cache_ttl = cfg.GetDuration("ratelimit.hot_keys.cache_ttl");
  auto store = RedisStore::Create(*loop.client, local, options, SystemClock::Default(), registry);
  if (!store.ok()) return store.status();
  backend->store_ = std::move(*store);
  loop.Start();
  obs::Log(obs::LogLevel::kInfo, "redis store",
           {{"url", url->cluster ? "redis-cluster://" : "redis://"},
            {"servers", static_cast<std::int64_t>(url->hosts.size())},
            {"timeout_ms", std::chrono::duration<double, std::milli>(timeout).count()}});
  return backend;
}

void RedisBackend::Shutdown() {
  if (!loop_ || !loop_->thread.joinable()) return;
  loop_->RunOnLoop([this] { loop_->client.reset(); });
  loop_->work.reset();
  loop_->io.stop();
  loop_->thread.join();
}

RedisBackend::~RedisBackend() { Shutdown(); }

}  // namespace keel::ratelimit
