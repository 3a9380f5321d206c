#include "keel/payments/service.h"

#include <nlohmann/json.hpp>

#include "keel/kit/runtime.h"
#include "keel/obs/log.h"
#include "keel/outbox/outbox.h"
#include "keel/resilience/policy_config.h"
#include "keel/saga/contract.h"
#include "provider.h"

namespace keel::payments {

std::vector<pg::Migration> Migrations();  // generated from api/saga/migrations/payments

namespace {

using nlohmann::json;

constexpr const char* kSchema = "payments";

Status Emit(pg::Connection& tx, const std::string& type, const std::string& order_id, json data) {
  data["order_id"] = order_id;
  auto id = outbox::Append(tx, kSchema, {.type = type, .subject = saga::ReplySubject(type),
                                         .aggregate_id = order_id, .data = data.dump()});
  return id.ok() ? Status::Ok() : id.status();
}

std::string ProviderError(const Provider::Answer& a) {
  if (a.body.is_object() && a.body.contains("error") && a.body["error"].is_object()) {
    const json& e = a.body["error"];
    return e.value("decline_code", e.value("code", std::string("unknown")));
  }
  return "http_" + std::to_string(a.status);
}

// Each command is handled in two steps: the provider call, outside any
// transaction (a long transaction would hold back every outbox relay of the
// database: they read below the oldest running transaction), then the
// record, in the inbox's transaction, which first checks that the payment
// did not change meanwhile. Every provider call is idempotent (its key
// derives from the order), so a record that fails is repaired by the
// redelivery, which replays the same key.
using Record = std::function<Status(pg::Connection&)>;

class Payments {
 public:
  explicit Payments(std::unique_ptr<Provider> provider) : provider_(std::move(provider)) {}
  void set_pool(pg::Pool* pool) { pool_ = pool; }

  Status Handle(const kit::Delivery& d, const kit::Inbox::Commit& commit) {
    if (!d.data.is_object() || !d.data.contains("order_id") || !d.data["order_id"].is_string()) {
      return InvalidArgument("command without order_id");
    }
    const std::string order_id = d.data["order_id"].get<std::string>();
    using Seen = std::pair<std::string, std::string>;
    auto seen = pool_->Call<Seen>([&](pg::Connection& c) -> StatusOr<Seen> {
      auto row = c.Exec("SELECT status, COALESCE(provider_id, '') FROM payments WHERE order_id = $1", {order_id});
      if (!row.ok()) return row.status();
      return row->rows() > 0 ? Seen{row->str(0, 0), row->str(0, 1)} : Seen{};
    });
    if (!seen.ok()) return seen.status();
    const auto& [status, provider_id] = *seen;
    StatusOr<Record> record = InvalidArgument("unknown payments command " + d.subject);
    if (d.subject == saga::kAuthorize) record = Authorize(order_id, status, d.data);
    if (d.subject == saga::kCapture) record = Capture(order_id, status, provider_id);
    if (d.subject == saga::kVoid || d.subject == saga::kRefund) {
      record = Compensate(order_id, status, provider_id, d.data);
    }
    if (!record.ok()) return record.status();
    return commit([&](pg::Connection& tx) -> Status {
      auto row = tx.Exec("SELECT status FROM payments WHERE order_id = $1 FOR UPDATE", {order_id});
      if (!row.ok()) return row.status();
      if ((row->rows() > 0 ? row->str(0, 0) : std::string()) != status) {
        return Unavailable("payment of " + order_id + " changed while the provider was called; retrying");
      }
      return (*record)(tx);
    });
  }

 private:
  static json IntentRequest(const json& data) {
    std::string currency = data.value("currency", "");
    for (char& c : currency) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return {{"amount", data.value("amount_cents", std::int64_t{0})},
            {"currency", currency},
            {"payment_method", data.value("payment_token", "")}};
  }

  static Record Reply(const std::string& type, const std::string& order_id, json data) {
    return [type, order_id, data](pg::Connection& tx) { return Emit(tx, type, order_id, data); };
  }

  static Record Nothing() {
    return [](pg::Connection&) { return Status::Ok(); };
  }

  // Sets the payment's status (inserting its row when new) and replies.
  static Record Set(const std::string& order_id, bool insert, const std::string& status, const std::string& pid,
                    const std::string& reason, const json& data, const std::string& type, json reply) {
    return [=](pg::Connection& tx) -> Status {
      auto r = insert ? tx.Exec("INSERT INTO payments (order_id, status, provider_id, amount_cents, currency, reason) "
                                "VALUES ($1, $2, NULLIF($3, ''), $4, $5, NULLIF($6, ''))",
                                {order_id, status, pid,
                                 data.contains("amount_cents") ? std::optional<std::string>(std::to_string(
                                                                     data.value("amount_cents", std::int64_t{0})))
                                                               : std::nullopt,
                                 data.contains("currency") ? std::optional<std::string>(data.value("currency", ""))
                                                           : std::nullopt,
                                 reason})
                      : tx.Exec("UPDATE payments SET status = $2, updated_at = clock_timestamp() WHERE order_id = $1",
                                {order_id, status});
      if (!r.ok()) return r.status();
      return Emit(tx, type, order_id, reply);
    };
  }

  StatusOr<Record> Authorize(const std::string& order_id, const std::string& status, const json& data) {
    if (status == "AUTHORIZED") return Reply("payment.authorized", order_id, {});
    if (status == "DECLINED") return Reply("payment.declined", order_id, {{"reason", "payment_declined"}});
    if (!status.empty()) return Nothing();  // voided before the authorization came: refused
    auto a = provider_->Post("/v1/payment_intents", IntentRequest(data), "keel-auth-" + order_id);
    if (!a.ok()) return a.status();
    if (a->status == 200 && a->body.is_object() && a->body.contains("id") && a->body["id"].is_string()) {
      const std::string pid = a->body["id"].get<std::string>();
      return Set(order_id, true, "AUTHORIZED", pid, "", data, "payment.authorized", {{"payment_id", pid}});
    }
    // A definitive no: 402 is a decline, other 4xx a rejected request.
    const std::string reason = a->status == 402 ? "payment_declined" : "payment_rejected";
    return Set(order_id, true, "DECLINED", "", ProviderError(*a), data, "payment.declined",
               {{"reason", reason}, {"decline_code", ProviderError(*a)}});
  }

  StatusOr<Record> Capture(const std::string& order_id, const std::string& status, const std::string& pid) {
    if (status == "CAPTURED") return Reply("payment.captured", order_id, {{"payment_id", pid}});
    if (status != "AUTHORIZED") return Reply("payment.capture_failed", order_id, {{"reason", "not_authorized"}});
    auto a = provider_->Post("/v1/payment_intents/" + pid + "/capture", json::object(), "keel-capture-" + order_id);
    if (!a.ok()) return a.status();
    if (a->status != 200) {
      return Reply("payment.capture_failed", order_id, {{"reason", "capture_" + ProviderError(*a)}});
    }
    return Set(order_id, false, "CAPTURED", pid, "", {}, "payment.captured", {{"payment_id", pid}});
  }

  // void and refund: undo whatever the payment is at.
  StatusOr<Record> Compensate(const std::string& order_id, const std::string& status, const std::string& pid,
                              const json& data) {
    if (status == "AUTHORIZED") {
      auto a = provider_->Post("/v1/payment_intents/" + pid + "/cancel", json::object(), "keel-void-" + order_id);
      if (!a.ok()) return a.status();
      if (a->status != 200) return FailedPrecondition("void refused by the provider: " + ProviderError(*a));
      return Set(order_id, false, "VOIDED", pid, "", {}, "payment.voided", {{"payment_id", pid}});
    }
    if (status == "CAPTURED") {
      auto a = provider_->Post("/v1/refunds", {{"payment_intent", pid}}, "keel-refund-" + order_id);
      if (!a.ok()) return a.status();
      if (a->status != 200) return FailedPrecondition("refund refused by the provider: " + ProviderError(*a));
      return Set(order_id, false, "REFUNDED", pid, "", {}, "payment.refunded", {{"payment_id", pid}});
    }
    if (!status.empty()) return Nothing();  // declined, voided or refunded already
    // No record: the authorization may still be on its way, or may have
    // reached the provider while its answer was lost. Replaying it with its
    // key tells which; an authorization found is cancelled. The VOIDED row
    // makes a late authorize a no-op.
    std::string voided;
    if (data.contains("amount_cents")) {
      auto a = provider_->Post("/v1/payment_intents", IntentRequest(data), "keel-auth-" + order_id);
      if (!a.ok()) return a.status();
      if (a->status == 200 && a->body.is_object() && a->body.contains("id") && a->body["id"].is_string()) {
        voided = a->body["id"].get<std::string>();
        auto c = provider_->Post("/v1/payment_intents/" + voided + "/cancel", json::object(), "keel-void-" + order_id);
        if (!c.ok()) return c.status();
      }
    }
    return Set(order_id, true, "VOIDED", voided, "cancelled before authorization", data, "payment.voided",
               {{"payment_id", voided}});
  }

  std::unique_ptr<Provider> provider_;
  pg::Pool* pool_ = nullptr;
};

class Sidecar final : public app::Sidecar {
 public:
  Sidecar(std::unique_ptr<kit::Runtime> rt, std::unique_ptr<Payments> payments)
      : rt_(std::move(rt)), payments_(std::move(payments)) {}
  void Stop() override {
    rt_->Stop();  // the consumer first: it calls the provider
    payments_.reset();
  }
  kit::Runtime& rt() { return *rt_; }
  Payments& payments() { return *payments_; }

 private:
  std::unique_ptr<kit::Runtime> rt_;
  std::unique_ptr<Payments> payments_;
};

}  // namespace

void AddKeys(config::Schema& schema) {
  kit::AddMessagingKeys(schema);
  schema.Add({"payments.provider_url", config::Type::kString, "http://127.0.0.1:8091",
              "the payment provider (Stripe-style API; `keel serve payment-sim`): http://HOST:PORT"});
  resilience::AddPolicyKeys(schema, "payments.provider");
}

StatusOr<std::unique_ptr<app::Sidecar>> Start(const config::Config& cfg, net::Router& router) {
  obs::Registry& registry = obs::DefaultRegistry();
  auto provider = Provider::Create(cfg.GetString("payments.provider_url"),
                                   resilience::PipelineOptionsFromConfig(cfg, "payments.provider"), registry);
  if (!provider.ok()) return provider.status();
  auto rt = kit::Runtime::Start(cfg, kSchema, Migrations(), registry, saga::EnsureStreams);
  if (!rt.ok()) return rt.status();
  auto sidecar = std::make_unique<Sidecar>(std::move(*rt), std::make_unique<Payments>(std::move(*provider)));
  Payments* payments = &sidecar->payments();
  payments->set_pool(&sidecar->rt().pool());
  Status s = router.AddAsync(
      net::Method::kGet, "/v1/payments/{order_id}",
      kit::OnPool(sidecar->rt().pool(), [](pg::Connection& c, const kit::Call& call) -> kit::Reply {
        auto r = c.Exec(
            "SELECT json_build_object('order_id', order_id, 'status', status, 'provider_id', provider_id, "
            "'amount_cents', amount_cents, 'currency', currency, 'reason', reason)::text FROM payments "
            "WHERE order_id = $1",
            {call.params.at("order_id")});
        if (!r.ok()) return kit::ErrorFrom(r.status());
        if (r->rows() == 0) return kit::Error(404, "no payment for order " + call.params.at("order_id"));
        return {200, r->str(0, 0), {}};
      }));
  if (!s.ok()) return s;
  s = sidecar->rt().StartInbox(saga::kStream, "payments", saga::kPaymentsCommands, saga::kDlqPrefix,
                               [payments](const kit::Delivery& d, const kit::Inbox::Commit& commit) {
                                 return payments->Handle(d, commit);
                               });
  if (!s.ok()) return s;
  return std::unique_ptr<app::Sidecar>(std::move(sidecar));
}

app::ServiceDef PaymentsService() {
  app::ServiceDef def;
  def.name = "payments";
  def.summary = "payments for the orders saga, through a Stripe-style provider (PostgreSQL + NATS JetStream)";
  def.add_keys = AddKeys;
  def.start = [](const config::Config& cfg, const std::string&, net::Router& router) { return Start(cfg, router); };
  return def;
}

}  // namespace keel::payments
