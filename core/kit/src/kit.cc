#include "keel/kit/kit.h"

#include <algorithm>
#include <cctype>
#include <memory>

#include "keel/base/json_string.h"
#include "keel/net/worker_context.h"

namespace keel::kit {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void AddKeyOnce(config::Schema& schema, config::KeySpec spec) {
  if (schema.Find(spec.key) == nullptr) schema.Add(std::move(spec));
}

void AddPostgresKeys(config::Schema& schema) {
  using config::Type;
  AddKeyOnce(schema, {"postgres.url", Type::kString, "postgresql://127.0.0.1:5432/postgres",
                   "PostgreSQL server: a libpq URI (postgresql://user@host:port/db)"});
  AddKeyOnce(schema, {"postgres.pool_size", Type::kInt, "4", "connections (and worker threads) to PostgreSQL",
                   1, 256});
  AddKeyOnce(schema, {"postgres.connect_timeout", Type::kDuration, "2s", "PostgreSQL connect timeout (>= 1s)",
                   1000, 3600000});
  AddKeyOnce(schema, {"postgres.statement_timeout", Type::kDuration, "5s",
                   "PostgreSQL statement timeout (0s: none)", 0, 3600000});
}

void AddNatsKeys(config::Schema& schema) {
  using config::Type;
  AddKeyOnce(schema, {"nats.url", Type::kString, "nats://127.0.0.1:4222",
                   "NATS server(s) with JetStream: nats://host:port, comma-separated"});
  AddKeyOnce(schema, {"nats.request_timeout", Type::kDuration, "2s",
                   "NATS JetStream API and publish-ack timeout", 10, 600000});
}

pg::Options PostgresOptions(const config::Config& cfg, const std::string& name) {
  pg::Options o;
  o.url = cfg.GetString("postgres.url");
  o.name = name;
  o.pool_size = static_cast<std::size_t>(cfg.GetInt("postgres.pool_size"));
  o.connect_timeout = cfg.GetDuration("postgres.connect_timeout");
  o.statement_timeout = cfg.GetDuration("postgres.statement_timeout");
  o.application_name = "keel-" + name;
  o.search_path = name;
  return o;
}

nats::Options NatsOptions(const config::Config& cfg, const std::string& name) {
  nats::Options o;
  o.url = cfg.GetString("nats.url");
  o.name = "keel-" + name;
  o.request_timeout = cfg.GetDuration("nats.request_timeout");
  return o;
}

Reply Error(int status, std::string_view message) {
  Reply r;
  r.status = status;
  r.body = "{\"error\":";
  AppendJsonString(&r.body, message);
  r.body += ",\"code\":" + std::to_string(status) + "}";
  return r;
}

Reply ErrorFrom(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return Error(404, s.message());
    case StatusCode::kInvalidArgument:
      return Error(400, s.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
    case StatusCode::kFailedPrecondition:
      return Error(409, s.message());
    case StatusCode::kResourceExhausted:
      return Error(429, s.message());
    case StatusCode::kUnavailable:
      return Error(503, s.message());
    default:
      return Error(500, s.message());
  }
}

net::AsyncHandler OnPool(pg::Pool& pool, PoolHandler fn, std::vector<std::string> headers) {
  for (auto& h : headers) h = Lower(h);
  auto shared = std::make_shared<PoolHandler>(std::move(fn));
  return [&pool, shared, headers](const net::Request& req, net::Response& res, net::Responder responder) {
    auto call = std::make_shared<Call>();
    call->body.assign(req.body);
    if (req.params != nullptr) {
      for (const auto& [k, v] : *req.params) call->params.emplace(std::string(k), std::string(v));
    }
    for (const auto& h : headers) {
      const std::string_view v = req.header(h);
      if (!v.empty()) call->headers.emplace(h, std::string(v));
    }
    Scheduler* worker = &net::CurrentScheduler();
    auto pending = std::make_shared<net::Responder>(std::move(responder));
    net::Response* out = &res;
    auto answer = [pending, out](Reply r) {
      out->set_status(r.status);
      out->set_content_type("application/json");
      out->body() = std::move(r.body);
      for (const auto& [k, v] : r.headers) out->add_header(k, v);
      pending->Send();
    };
    Status queued = pool.Submit([shared, call, worker, answer](StatusOr<pg::Connection*> conn) {
      Reply r = conn.ok() ? (*shared)(**conn, *call) : ErrorFrom(Unavailable(conn.status().message()));
      worker->Post([answer, r = std::move(r)]() mutable { answer(std::move(r)); });
    });
    if (!queued.ok()) answer(Error(503, "database queue full: " + queued.message()));
  };
}

Periodic::Periodic(std::string name, Duration interval, std::function<void()> fn)
    : name_(std::move(name)), interval_(interval), fn_(std::move(fn)) {
  thread_ = std::thread([this] { Loop(); });
}

Periodic::~Periodic() { Stop(); }

void Periodic::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Periodic::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (cv_.wait_for(lock, interval_, [this] { return stop_; })) break;
    lock.unlock();
    fn_();
    lock.lock();
  }
}

}  // namespace keel::kit
