#include "keel/orders/service.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "keel/kit/runtime.h"
#include "keel/obs/log.h"
#include "keel/outbox/outbox.h"
#include "keel/saga/contract.h"
#include "request.h"

namespace keel::orders {

std::vector<pg::Migration> Migrations();  // generated from api/saga/migrations/orders

namespace {

using nlohmann::json;

constexpr const char* kSchema = "orders";

std::string Ms(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

struct Settings {
  Duration step_timeout;
  Duration reservation_ttl;
  Duration idempotency_ttl;
  Duration lock_timeout;
};

// The order as the saga needs it, locked for the transaction.
struct Order {
  std::string id, status, step, currency, token, payment_id;
  json items;
  std::int64_t amount_cents = 0;
};

StatusOr<Order> Lock(pg::Connection& tx, const std::string& id) {
  auto r = tx.Exec(
      "SELECT id, status, step, items::text, amount_cents, currency, payment_token, COALESCE(payment_id, '') "
      "FROM orders WHERE id = $1 FOR UPDATE",
      {id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return NotFound("no order " + id);
  Order o;
  o.id = r->str(0, 0);
  o.status = r->str(0, 1);
  o.step = r->str(0, 2);
  o.items = json::parse(r->str(0, 3));
  o.amount_cents = r->int64(0, 4);
  o.currency = r->str(0, 5);
  o.token = r->str(0, 6);
  o.payment_id = r->str(0, 7);
  return o;
}

Status Emit(pg::Connection& tx, const std::string& subject, const std::string& type, const std::string& order_id,
            json data) {
  data["order_id"] = order_id;
  auto id = outbox::Append(tx, kSchema, {.type = type, .subject = subject, .aggregate_id = order_id,
                                         .data = data.dump()});
  return id.ok() ? Status::Ok() : id.status();
}

// Moves the order and records the move; `deadline` zero: no step deadline.
Status Move(pg::Connection& tx, const std::string& id, const std::string& status, const std::string& step,
            const std::optional<std::string>& reason, Duration deadline) {
  auto r = tx.Exec(
      "UPDATE orders SET status = $2, step = $3, reason = COALESCE($4, reason), updated_at = clock_timestamp(), "
      "step_deadline = CASE WHEN $5::bigint > 0 THEN clock_timestamp() + $5::bigint * interval '1 millisecond' END "
      "WHERE id = $1",
      {id, status, step, reason, Ms(deadline)});
  if (!r.ok()) return r.status();
  auto h = tx.Exec("INSERT INTO order_history (order_id, status, step, reason) VALUES ($1, $2, $3, $4)",
                   {id, status, step, reason});
  return h.ok() ? Status::Ok() : h.status();
}

json PaymentParams(const Order& o) {
  return {{"amount_cents", o.amount_cents}, {"currency", o.currency}, {"payment_token", o.token}};
}

// Undoes what the order holds at its step, and cancels it.
Status Compensate(pg::Connection& tx, const Order& o, const std::string& reason) {
  if (o.status == "CONFIRMED" || o.status == "CANCELLED") return Status::Ok();
  Status s = Emit(tx, saga::kRelease, "inventory.release", o.id, {});
  if (s.ok() && o.status == "RESERVED") s = Emit(tx, saga::kVoid, "payments.void", o.id, PaymentParams(o));
  if (s.ok() && o.status == "PAID") s = Emit(tx, saga::kRefund, "payments.refund", o.id, PaymentParams(o));
  if (s.ok()) s = Move(tx, o.id, "CANCELLED", "done", reason, Duration::zero());
  if (s.ok()) s = Emit(tx, saga::EventSubject("order.cancelled"), "order.cancelled", o.id, {{"reason", reason}});
  return s;
}

const char* TimeoutReason(const std::string& step) {
  if (step == "reserving") return "inventory_timeout";
  if (step == "committing") return "commit_timeout";
  return "payment_timeout";
}

// One reply from a participant: the orchestrator's next step.
Status OnReply(pg::Connection& tx, const Settings& cfg, const std::string& type, const json& data) {
  auto o = Lock(tx, data["order_id"].get<std::string>());
  if (!o.ok()) return o.status();
  const std::string& st = o->status;
  const std::string reason = data.value("reason", "");
  if (type == "inventory.reserved") {
    if (st == "PENDING") {
      Status s = Move(tx, o->id, "RESERVED", "authorizing", std::nullopt, cfg.step_timeout);
      return s.ok() ? Emit(tx, saga::kAuthorize, "payments.authorize", o->id, PaymentParams(*o)) : s;
    }
    // A reservation that came after the order was cancelled: give it back.
    if (st == "CANCELLED") return Emit(tx, saga::kRelease, "inventory.release", o->id, {});
    return Status::Ok();
  }
  if (type == "inventory.rejected") {
    return st == "PENDING" ? Compensate(tx, *o, reason.empty() ? "out_of_stock" : reason) : Status::Ok();
  }
  if (type == "inventory.expired") {
    return (st == "PENDING" || st == "RESERVED" || st == "PAID") ? Compensate(tx, *o, "reservation_expired")
                                                                 : Status::Ok();
  }
  if (type == "payment.authorized") {
    if (st == "RESERVED" && o->step == "authorizing") {
      auto r = tx.Exec("UPDATE orders SET payment_id = $2 WHERE id = $1", {o->id, data.value("payment_id", "")});
      if (!r.ok()) return r.status();
      Status s = Move(tx, o->id, "RESERVED", "capturing", std::nullopt, cfg.step_timeout);
      return s.ok() ? Emit(tx, saga::kCapture, "payments.capture", o->id, {}) : s;
    }
    if (st == "CANCELLED") return Emit(tx, saga::kVoid, "payments.void", o->id, PaymentParams(*o));
    return Status::Ok();
  }
  if (type == "payment.declined") {
    return st == "RESERVED" ? Compensate(tx, *o, reason.empty() ? "payment_declined" : reason) : Status::Ok();
  }
  if (type == "payment.captured") {
    if (st == "RESERVED") {
      Status s = Move(tx, o->id, "PAID", "committing", std::nullopt, cfg.step_timeout);
      return s.ok() ? Emit(tx, saga::kCommit, "inventory.commit", o->id, {}) : s;
    }
    if (st == "CANCELLED") return Emit(tx, saga::kRefund, "payments.refund", o->id, PaymentParams(*o));
    return Status::Ok();
  }
  if (type == "payment.capture_failed") {
    return st == "RESERVED" ? Compensate(tx, *o, "payment_failed") : Status::Ok();
  }
  if (type == "inventory.committed") {
    if (st != "PAID") return Status::Ok();
    Status s = Move(tx, o->id, "CONFIRMED", "done", std::nullopt, Duration::zero());
    return s.ok() ? Emit(tx, saga::EventSubject("order.confirmed"), "order.confirmed", o->id,
                         {{"amount_cents", o->amount_cents}, {"currency", o->currency}})
                  : s;
  }
  if (type == "inventory.commit_failed") {
    return st == "PAID" ? Compensate(tx, *o, reason.empty() ? "reservation_expired" : reason) : Status::Ok();
  }
  if (type == "inventory.released" || type == "payment.voided" || type == "payment.refunded") {
    return Status::Ok();  // a compensation done; nothing follows
  }
  return InvalidArgument("unknown reply type " + type);
}

constexpr const char* kOrderJson = R"SQL(
SELECT json_build_object(
  'id', o.id, 'status', o.status, 'reason', o.reason, 'customer_id', o.customer_id,
  'items', o.items, 'amount_cents', o.amount_cents, 'currency', o.currency,
  'payment_id', o.payment_id, 'created_at', o.created_at, 'updated_at', o.updated_at,
  'history', (SELECT json_agg(json_build_object('status', h.status, 'step', h.step, 'reason', h.reason,
                                                'at', h.at) ORDER BY h.seq)
              FROM order_history h WHERE h.order_id = o.id))::text
FROM orders o WHERE o.id = $1)SQL";

StatusOr<std::string> OrderJson(pg::Connection& c, const std::string& id) {
  auto r = c.Exec(kOrderJson, {id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return NotFound("no order " + id);
  return r->str(0, 0);
}

kit::Reply Stored(int code, std::string body, bool replayed) {
  kit::Reply r{code, std::move(body), {}};
  if (replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

// The request's one atomic phase: the order, its first command and event,
// and the key's stored response commit together (or not at all). The key
// row must exist and be locked by this caller (or be stale).
StatusOr<kit::Reply> CreateOrder(pg::Connection& c, const Settings& cfg, const std::string& user,
                                 const std::string& key, const json& req) {
  kit::Reply out;
  Status s = pg::Transact(c, {}, [&](pg::Connection& tx) -> Status {
    auto k = tx.Exec("SELECT recovery_point, response_code, response_body FROM idempotency_keys "
                     "WHERE user_id = $1 AND key = $2 FOR UPDATE",
                     {user, key});
    if (!k.ok()) return k.status();
    if (k->rows() == 0) return Aborted("idempotency key vanished (reaped)");
    if (k->str(0, 0) == "finished") {
      out = Stored(static_cast<int>(k->int64(0, 1)), k->str(0, 2), true);
      return Status::Ok();
    }
    auto id = tx.Exec("SELECT 'ord_' || replace(gen_random_uuid()::text, '-', '')");
    if (!id.ok()) return id.status();
    const std::string order_id = id->str(0, 0);
    auto ins = tx.Exec(
        "INSERT INTO orders (id, customer_id, status, step, step_deadline, items, amount_cents, currency, "
        "payment_token) VALUES ($1, $2, 'PENDING', 'reserving', clock_timestamp() + $3::bigint * interval "
        "'1 millisecond', $4::jsonb, $5, $6, $7)",
        {order_id, user, Ms(cfg.step_timeout), req["items"].dump(), std::to_string(req["amount_cents"].get<std::int64_t>()),
         req["currency"].get<std::string>(), req["payment_token"].get<std::string>()});
    if (!ins.ok()) return ins.status();
    auto h = tx.Exec("INSERT INTO order_history (order_id, status, step) VALUES ($1, 'PENDING', 'reserving')",
                     {order_id});
    if (!h.ok()) return h.status();
    const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.reservation_ttl).count();
    if (Status e = Emit(tx, saga::kReserve, "inventory.reserve", order_id, {{"items", req["items"]}, {"ttl_ms", ttl}});
        !e.ok()) {
      return e;
    }
    if (Status e = Emit(tx, saga::EventSubject("order.created"), "order.created", order_id,
                        {{"customer_id", user}, {"items", req["items"]}, {"amount_cents", req["amount_cents"]},
                         {"currency", req["currency"]}});
        !e.ok()) {
      return e;
    }
    auto body = OrderJson(tx, order_id);
    if (!body.ok()) return body.status();
    auto done = tx.Exec("UPDATE idempotency_keys SET recovery_point = 'finished', locked_at = NULL, "
                        "response_code = 201, response_body = $3, order_id = $4 WHERE user_id = $1 AND key = $2",
                        {user, key, *body, order_id});
    if (!done.ok()) return done.status();
    out = Stored(201, *body, false);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

// POST /v1/orders: Stripe's idempotency keys. Phase 1 claims the key (or
// finds it: replay, 422 for other parameters, 409 while it runs); phase 2
// is CreateOrder.
kit::Reply PostOrder(pg::Connection& c, const Settings& cfg, const kit::Call& call) {
  auto key_it = call.headers.find("idempotency-key");
  if (key_it == call.headers.end()) return kit::Error(400, "Idempotency-Key header: required");
  const std::string& key = key_it->second;
  if (key.size() > 255) return kit::Error(400, "Idempotency-Key header: at most 255 characters");
  auto req = ParseOrderRequest(call.body);
  if (!req.ok()) return kit::Error(400, req.status().message());
  const std::string user = (*req)["customer_id"].get<std::string>();
  const std::string canonical = req->dump();
  // The claim does not wait for its WAL flush: nothing durable depends on
  // it alone. Phase 2's commit flushes it (the WAL is one sequence); a claim
  // lost in a crash before that belongs to a request that got no answer,
  // and the client's retry claims the key again.
  std::int64_t claimed = 0;
  Status claim = pg::Transact(c, {}, [&](pg::Connection& tx) -> Status {
    if (auto off = tx.Exec("SET LOCAL synchronous_commit = off"); !off.ok()) return off.status();
    auto r = tx.Exec("INSERT INTO idempotency_keys (user_id, key, fingerprint, request, locked_at) "
                     "VALUES ($1, $2, md5($3), $3::jsonb, clock_timestamp()) ON CONFLICT DO NOTHING",
                     {user, key, canonical});
    if (!r.ok()) return r.status();
    claimed = r->affected();
    return Status::Ok();
  });
  if (!claim.ok()) return kit::ErrorFrom(claim);
  if (claimed == 0) {
    std::optional<kit::Reply> answer;
    Status s = pg::Transact(c, {}, [&](pg::Connection& tx) -> Status {
      auto k = tx.Exec("SELECT fingerprint = md5($3), recovery_point, "
                       "COALESCE(locked_at > clock_timestamp() - $4::bigint * interval '1 millisecond', false), "
                       "response_code, response_body FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE",
                       {user, key, canonical, Ms(cfg.lock_timeout)});
      if (!k.ok()) return k.status();
      if (k->rows() == 0) return Aborted("idempotency key reaped meanwhile; retry");
      if (!k->boolean(0, 0)) {
        answer = kit::Error(422, "Idempotency-Key " + key + " was used with other parameters");
      } else if (k->str(0, 1) == "finished") {
        answer = Stored(static_cast<int>(k->int64(0, 3)), k->str(0, 4), true);
      } else if (k->boolean(0, 2)) {
        answer = kit::Error(409, "a request with Idempotency-Key " + key + " is in progress; retry later");
      } else {
        // Its owner crashed: take the lock over and finish the request.
        auto u = tx.Exec("UPDATE idempotency_keys SET locked_at = clock_timestamp() WHERE user_id = $1 AND key = $2",
                         {user, key});
        if (!u.ok()) return u.status();
      }
      return Status::Ok();
    });
    if (!s.ok()) return kit::ErrorFrom(s);
    if (answer) return *answer;
  }
  auto created = CreateOrder(c, cfg, user, key, *req);
  if (!created.ok()) {
    // The key stays 'started' with its lock: the completer finishes the
    // request once the lock is stale (or a retry of the client does).
    obs::Log(obs::LogLevel::kWarn, "orders: create failed", {{"key", key}, {"error", created.status().message()}});
    return kit::ErrorFrom(created.status());
  }
  return *created;
}

kit::Reply CancelOrder(pg::Connection& c, const kit::Call& call) {
  const std::string& id = call.params.at("id");
  std::optional<kit::Reply> refused;
  Status s = pg::Transact(c, {}, [&](pg::Connection& tx) -> Status {
    auto o = Lock(tx, id);
    if (!o.ok()) return o.status();
    if (o->status == "CONFIRMED") {
      refused = kit::Error(409, "order " + id + " is confirmed and can no longer be cancelled");
      return Status::Ok();
    }
    return Compensate(tx, *o, "cancelled");
  });
  if (!s.ok()) return kit::ErrorFrom(s);
  if (refused) return *refused;
  auto body = OrderJson(c, id);
  if (!body.ok()) return kit::ErrorFrom(body.status());
  return {200, *body, {}};
}

// Background: step deadlines, crashed requests, old keys.
void Sweep(pg::Pool& pool, const Settings& cfg, obs::Counter* timed_out, obs::Counter* completed) {
  Status s = pool.Call([&](pg::Connection& c) -> Status {
    Status t = pg::Transact(c, {}, [&](pg::Connection& tx) -> Status {
      auto rows = tx.Exec("SELECT id FROM orders WHERE status IN ('PENDING', 'RESERVED', 'PAID') "
                          "AND step_deadline < clock_timestamp() ORDER BY step_deadline LIMIT 100 FOR UPDATE SKIP LOCKED");
      if (!rows.ok()) return rows.status();
      for (int i = 0; i < rows->rows(); ++i) {
        auto o = Lock(tx, rows->str(i, 0));
        if (!o.ok()) return o.status();
        if (Status st = Compensate(tx, *o, TimeoutReason(o->step)); !st.ok()) return st;
        timed_out->Inc();
      }
      return Status::Ok();
    });
    if (!t.ok()) return t;
    auto stale = c.Exec("SELECT user_id, key, request::text FROM idempotency_keys WHERE recovery_point = 'started' "
                        "AND COALESCE(locked_at, '-infinity') < clock_timestamp() - $1::bigint * interval '1 millisecond' "
                        "LIMIT 20",
                        {Ms(cfg.lock_timeout)});
    if (!stale.ok()) return stale.status();
    for (int i = 0; i < stale->rows(); ++i) {
      const std::string user = stale->str(i, 0), key = stale->str(i, 1);
      auto claim = c.Exec("UPDATE idempotency_keys SET locked_at = clock_timestamp() WHERE user_id = $1 AND key = $2 "
                          "AND recovery_point = 'started' AND COALESCE(locked_at, '-infinity') < clock_timestamp() - "
                          "$3::bigint * interval '1 millisecond'",
                          {user, key, Ms(cfg.lock_timeout)});
      if (!claim.ok()) return claim.status();
      if (claim->affected() == 0) continue;  // its client came back first
      auto done = CreateOrder(c, cfg, user, key, json::parse(stale->str(i, 2)));
      if (!done.ok()) return done.status();
      completed->Inc();
      obs::Log(obs::LogLevel::kInfo, "orders: finished a crashed request", {{"key", key}});
    }
    auto reaped = c.Exec("DELETE FROM idempotency_keys WHERE created_at < clock_timestamp() - $1::bigint * interval "
                         "'1 millisecond'",
                         {Ms(cfg.idempotency_ttl)});
    return reaped.ok() ? Status::Ok() : reaped.status();
  });
  if (!s.ok()) obs::Log(obs::LogLevel::kWarn, "orders: sweep failed", {{"error", s.message()}});
}

class Sidecar final : public app::Sidecar {
 public:
  Sidecar(std::unique_ptr<kit::Runtime> rt, Settings settings) : rt_(std::move(rt)), settings_(settings) {}
  void Stop() override { rt_->Stop(); }
  kit::Runtime& rt() { return *rt_; }
  const Settings& settings() const { return settings_; }

 private:
  std::unique_ptr<kit::Runtime> rt_;
  const Settings settings_;
};

}  // namespace

void AddKeys(config::Schema& schema) {
  using config::Type;
  kit::AddMessagingKeys(schema);
  schema.Add({"orders.step_timeout", Type::kDuration, "30s",
              "a saga step (reserve, payment, commit) not answered by then is compensated", 100, 86400000});
  schema.Add({"orders.reservation_ttl", Type::kDuration, "10m", "how long inventory holds an order's stock", 1000,
              86400000});
  schema.Add({"orders.idempotency_ttl", Type::kDuration, "24h", "idempotency keys are reaped after this", 1000,
              2592000000});
  schema.Add({"orders.idempotency_lock_timeout", Type::kDuration, "60s",
              "a request holding its key longer is taken to have crashed and is finished by the completer", 100,
              86400000});
  schema.Add({"orders.sweep_interval", Type::kDuration, "1s",
              "how often step deadlines, crashed requests and old keys are checked", 10, 3600000});
}

StatusOr<std::unique_ptr<app::Sidecar>> Start(const config::Config& cfg, net::Router& router) {
  obs::Registry& registry = obs::DefaultRegistry();
  Settings settings{cfg.GetDuration("orders.step_timeout"), cfg.GetDuration("orders.reservation_ttl"),
                    cfg.GetDuration("orders.idempotency_ttl"), cfg.GetDuration("orders.idempotency_lock_timeout")};
  auto rt = kit::Runtime::Start(cfg, kSchema, Migrations(), registry, saga::EnsureStreams);
  if (!rt.ok()) return rt.status();
  auto sidecar = std::make_unique<Sidecar>(std::move(*rt), settings);
  kit::Runtime& runtime = sidecar->rt();
  pg::Pool& pool = runtime.pool();
  const Settings* s_ptr = &sidecar->settings();

  Status s = router.AddAsync(net::Method::kPost, "/v1/orders",
                             kit::OnPool(pool, [s_ptr](pg::Connection& c, const kit::Call& call) {
                               return PostOrder(c, *s_ptr, call);
                             }, {"idempotency-key"}));
  if (!s.ok()) return s;
  s = router.AddAsync(net::Method::kGet, "/v1/orders/{id}",
                      kit::OnPool(pool, [](pg::Connection& c, const kit::Call& call) -> kit::Reply {
                        auto body = OrderJson(c, call.params.at("id"));
                        if (!body.ok()) return kit::ErrorFrom(body.status());
                        return {200, *body, {}};
                      }));
  if (!s.ok()) return s;
  s = router.AddAsync(net::Method::kPost, "/v1/orders/{id}/cancel", kit::OnPool(pool, CancelOrder));
  if (!s.ok()) return s;
  s = runtime.StartInbox(saga::kStream, "orders", saga::kOrdersReplies, saga::kDlqPrefix,
                         [s_ptr](const kit::Delivery& d, const kit::Inbox::Commit& commit) -> Status {
                           if (!d.data.is_object() || !d.data.contains("order_id") || !d.data["order_id"].is_string()) {
                             return InvalidArgument("reply without order_id");
                           }
                           return commit([&](pg::Connection& tx) { return OnReply(tx, *s_ptr, d.type, d.data); });
                         });
  if (!s.ok()) return s;
  auto& family = registry.AddCounter("keel_orders_sweeper_actions_total",
                                     "Orders cancelled at their step deadline, and crashed requests finished.",
                                     {"action"});
  obs::Counter* timed_out = family.Get({"step_timeout"});
  obs::Counter* completed = family.Get({"request_completed"});
  runtime.Every("orders-sweeper", cfg.GetDuration("orders.sweep_interval"),
                [&pool, s_ptr, timed_out, completed] { Sweep(pool, *s_ptr, timed_out, completed); });
  return std::unique_ptr<app::Sidecar>(std::move(sidecar));
}

app::ServiceDef OrdersService() {
  app::ServiceDef def;
  def.name = "orders";
  def.summary = "the orders saga's orchestrator, with idempotency keys (PostgreSQL + NATS JetStream)";
  def.add_keys = AddKeys;
  def.start = [](const config::Config& cfg, const std::string&, net::Router& router) { return Start(cfg, router); };
  return def;
}

}  // namespace keel::orders
