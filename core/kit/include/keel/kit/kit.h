// keel::kit — what every service on PostgreSQL and NATS JetStream shares:
// the config keys naming its servers, an HTTP handler that runs its work on
// the database pool, periodic background jobs, and JSON error answers.
//
//   def.add_keys = [](config::Schema& s) { kit::AddPostgresKeys(s); kit::AddNatsKeys(s); };
//   pg::Options pgo = kit::PostgresOptions(cfg, "orders");
//   router.AddAsync(Method::kGet, "/v1/orders/{id}",
//       kit::OnPool(pool, [](pg::Connection& c, const kit::Call& call) -> kit::Reply { ... }));
//
// Config keys (the same in every service; --set postgres.url=... or
// KEEL_POSTGRES_URL):
//   postgres.url                libpq URI          postgresql://127.0.0.1:5432/postgres
//   postgres.pool_size          connections        4
//   postgres.connect_timeout    duration           2s
//   postgres.statement_timeout  duration           5s
//   nats.url                    nats://host:port   nats://127.0.0.1:4222 (comma-separated: several)
//   nats.request_timeout        duration           2s (JetStream API calls, publish acks)
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "keel/base/units.h"
#include "keel/config/config.h"
#include "keel/nats/nats.h"
#include "keel/net/router.h"
#include "keel/pg/pg.h"

namespace keel::kit {

// Adds `spec` unless its key is there already: a process running several
// services declares their shared keys several times.
void AddKeyOnce(config::Schema& schema, config::KeySpec spec);

// Each adds its keys once (AddKeyOnce).
void AddPostgresKeys(config::Schema& schema);
void AddNatsKeys(config::Schema& schema);

pg::Options PostgresOptions(const config::Config& cfg, const std::string& name);
nats::Options NatsOptions(const config::Config& cfg, const std::string& name);

// What an HTTP handler on the pool answers with.
struct Reply {
  int status = 200;
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};
// {"error": message, "code": status}
Reply Error(int status, std::string_view message);
// Maps a Status to an HTTP answer: NotFound 404, InvalidArgument 400,
// AlreadyExists/Aborted/FailedPrecondition 409, ResourceExhausted 429,
// Unavailable 503, others 500.
Reply ErrorFrom(const Status& status);

// What the handler may read: copies of the request's parts (the Request
// itself is only valid on the worker thread).
struct Call {
  std::string body;
  std::map<std::string, std::string> params;  // path parameters
  std::map<std::string, std::string> headers;  // lower-case names of the ones asked for
};

using PoolHandler = std::function<Reply(pg::Connection&, const Call&)>;

// An async route handler that copies the request, runs `fn` on a pool
// worker with its connection, and answers on the HTTP worker. A full pool
// queue answers 503 at once; a database that is down answers 503.
// `headers`: the request headers `fn` needs (case-insensitive).
net::AsyncHandler OnPool(pg::Pool& pool, PoolHandler fn, std::vector<std::string> headers = {});

// Runs fn every `interval` on a thread of its own, first after one interval;
// stops (and joins) on destruction or Stop(). fn's errors are its own
// business (log, count).
class Periodic {
 public:
  Periodic(std::string name, Duration interval, std::function<void()> fn);
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;
  void Stop();
  // Runs fn now (on the caller's thread): tests.
  void RunOnce() { fn_(); }

 private:
  void Loop();
  std::string name_;
  Duration interval_;
  std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace keel::kit
