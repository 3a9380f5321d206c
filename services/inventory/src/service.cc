#include "keel/inventory/service.h"

#include <map>
#include <nlohmann/json.hpp>

#include "keel/kit/runtime.h"
#include "keel/obs/log.h"
#include "keel/outbox/outbox.h"
#include "keel/saga/contract.h"

namespace keel::inventory {

std::vector<pg::Migration> Migrations();  // generated from api/saga/migrations/inventory

namespace {

using nlohmann::json;

constexpr const char* kSchema = "inventory";

bool ValidSku(std::string_view sku) {
  if (sku.empty() || sku.size() > 64) return false;
  for (char c : sku) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

Status Emit(pg::Connection& tx, const std::string& type, const std::string& order_id, const json& data) {
  auto id = outbox::Append(tx, kSchema, {.type = type, .subject = saga::ReplySubject(type),
                                         .aggregate_id = order_id, .data = data.dump()});
  return id.ok() ? Status::Ok() : id.status();
}

// Sums quantities per SKU (an order may list one twice); sorted, so locks
// are taken in one order by every transaction.
StatusOr<std::map<std::string, std::int64_t>> Quantities(const json& items) {
  if (!items.is_array() || items.empty()) return InvalidArgument("items: a non-empty array is required");
  std::map<std::string, std::int64_t> out;
  for (const auto& item : items) {
    if (!item.is_object() || !item.contains("sku") || !item["sku"].is_string() || !item.contains("qty") ||
        !item["qty"].is_number_integer() || item["qty"].get<std::int64_t>() <= 0) {
      return InvalidArgument("items: each needs a sku and a positive integer qty");
    }
    out[item["sku"].get<std::string>()] += item["qty"].get<std::int64_t>();
  }
  return out;
}

// What ending a reservation does to its SKUs' stock.
enum class Settle {
  kRelease,  // held stock is available again
  kConsume,  // held stock leaves (the order is confirmed)
  kRestock,  // consumed stock comes back (a confirmed order is returned)
};

Status SettleStock(pg::Connection& tx, const json& items, Settle how) {
  auto qty = Quantities(items);
  if (!qty.ok()) return Status::Ok();  // a tombstone holds no stock
  const char* sql = how == Settle::kRelease
                        ? "UPDATE stock SET reserved = reserved - $2, updated_at = clock_timestamp() WHERE sku = $1"
                    : how == Settle::kConsume
                        ? "UPDATE stock SET on_hand = on_hand - $2, reserved = reserved - $2, "
                          "updated_at = clock_timestamp() WHERE sku = $1"
                        : "UPDATE stock SET on_hand = on_hand + $2, updated_at = clock_timestamp() WHERE sku = $1";
  for (const auto& [sku, n] : *qty) {
    auto r = tx.Exec(sql, {sku, std::to_string(n)});
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Status Reserve(pg::Connection& tx, const std::string& order_id, const json& data) {
  auto existing = tx.Exec("SELECT status FROM reservations WHERE order_id = $1 FOR UPDATE", {order_id});
  if (!existing.ok()) return existing.status();
  if (existing->rows() > 0) return Status::Ok();  // reserved before, or released before it came
  auto qty = Quantities(data.value("items", json()));
  if (!qty.ok()) return qty.status();
  const std::int64_t ttl_ms = data.value("ttl_ms", std::int64_t{600000});
  std::string skus;
  for (const auto& [sku, n] : *qty) skus += (skus.empty() ? "" : ",") + json(sku).dump();
  auto rows = tx.Exec("SELECT sku, on_hand - reserved FROM stock WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE",
                   {"{" + skus + "}"});
  if (!rows.ok()) return rows.status();
  std::map<std::string, std::int64_t> available;
  for (int i = 0; i < rows->rows(); ++i) available[rows->str(i, 0)] = rows->int64(i, 1);
  for (const auto& [sku, n] : *qty) {
    if (available[sku] < n) {
      auto r = tx.Exec("INSERT INTO reservations (order_id, status, items) VALUES ($1, 'REJECTED', $2::jsonb)",
                    {order_id, data["items"].dump()});
      if (!r.ok()) return r.status();
      return Emit(tx, "inventory.rejected", order_id,
                  {{"order_id", order_id}, {"reason", "out_of_stock"}, {"sku", sku}});
    }
  }
  for (const auto& [sku, n] : *qty) {
    auto r = tx.Exec("UPDATE stock SET reserved = reserved + $2, updated_at = clock_timestamp() WHERE sku = $1",
                  {sku, std::to_string(n)});
    if (!r.ok()) return r.status();
  }
  auto r = tx.Exec(
                "INSERT INTO reservations (order_id, status, items, expires_at) VALUES ($1, 'HELD', $2::jsonb, "
                "clock_timestamp() + $3::bigint * interval '1 millisecond') RETURNING expires_at::text",
                {order_id, data["items"].dump(), std::to_string(ttl_ms)});
  if (!r.ok()) return r.status();
  return Emit(tx, "inventory.reserved", order_id, {{"order_id", order_id}, {"expires_at", r->str(0, 0)}});
}

// Ends a HELD reservation as RELEASED, EXPIRED or COMMITTED.
Status Finish(pg::Connection& tx, const std::string& order_id, const std::string& command) {
  auto row = tx.Exec("SELECT status, items FROM reservations WHERE order_id = $1 FOR UPDATE", {order_id});
  if (!row.ok()) return row.status();
  const std::string status = row->rows() > 0 ? row->str(0, 0) : "";
  if (command == "release") {
    if (status.empty()) {
      // The release overtook its reserve: leave a tombstone.
      auto r = tx.Exec("INSERT INTO reservations (order_id, status, items) VALUES ($1, 'RELEASED', '[]')", {order_id});
      return r.ok() ? Emit(tx, "inventory.released", order_id, {{"order_id", order_id}}) : r.status();
    }
    if (status != "HELD" && status != "COMMITTED") return Status::Ok();  // nothing held any more
    // A committed reservation comes back as a return: its stock is on hand again.
    const Settle how = status == "COMMITTED" ? Settle::kRestock : Settle::kRelease;
    if (Status s = SettleStock(tx, json::parse(row->str(0, 1)), how); !s.ok()) return s;
    auto r = tx.Exec("UPDATE reservations SET status = 'RELEASED', updated_at = clock_timestamp() WHERE order_id = $1",
                  {order_id});
    return r.ok() ? Emit(tx, "inventory.released", order_id, {{"order_id", order_id}}) : r.status();
  }
  // commit
  if (status == "COMMITTED") return Emit(tx, "inventory.committed", order_id, {{"order_id", order_id}});
  if (status != "HELD") {
    const std::string reason = status == "EXPIRED" ? "reservation_expired" : "reservation_" + (status.empty() ? std::string("missing") : std::string(status == "RELEASED" ? "released" : "rejected"));
    return Emit(tx, "inventory.commit_failed", order_id, {{"order_id", order_id}, {"reason", reason}});
  }
  if (Status s = SettleStock(tx, json::parse(row->str(0, 1)), Settle::kConsume); !s.ok()) return s;
  auto r = tx.Exec("UPDATE reservations SET status = 'COMMITTED', updated_at = clock_timestamp() WHERE order_id = $1",
                {order_id});
  return r.ok() ? Emit(tx, "inventory.committed", order_id, {{"order_id", order_id}}) : r.status();
}

Status Handle(const kit::Delivery& d, const kit::Inbox::Commit& commit) {
  if (!d.data.is_object() || !d.data.contains("order_id") || !d.data["order_id"].is_string()) {
    return InvalidArgument("command without order_id");
  }
  const std::string order_id = d.data["order_id"].get<std::string>();
  if (d.subject == saga::kReserve) {
    return commit([&](pg::Connection& tx) { return Reserve(tx, order_id, d.data); });
  }
  if (d.subject == saga::kRelease) return commit([&](pg::Connection& tx) { return Finish(tx, order_id, "release"); });
  if (d.subject == saga::kCommit) return commit([&](pg::Connection& tx) { return Finish(tx, order_id, "commit"); });
  return InvalidArgument("unknown inventory command " + d.subject);
}

// Releases reservations whose TTL passed; the orchestrator hears
// inventory.expired and compensates.
void Sweep(pg::Pool& pool, obs::Counter* expired) {
  Status s = pool.Call([&](pg::Connection& c) -> Status {
    return pg::Transact(c, {}, [&](pg::Connection& tx) -> Status {
      auto rows = tx.Exec(
                       "SELECT order_id, items FROM reservations WHERE status = 'HELD' AND expires_at < clock_timestamp() "
                       "ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED");
      if (!rows.ok()) return rows.status();
      for (int i = 0; i < rows->rows(); ++i) {
        const std::string order_id = rows->str(i, 0);
        if (Status st = SettleStock(tx, json::parse(rows->str(i, 1)), Settle::kRelease); !st.ok()) return st;
        auto r = tx.Exec("UPDATE reservations SET status = 'EXPIRED', updated_at = clock_timestamp() WHERE order_id = $1",
                      {order_id});
        if (!r.ok()) return r.status();
        if (Status st = Emit(tx, "inventory.expired", order_id, {{"order_id", order_id}}); !st.ok()) return st;
      }
      expired->Inc(static_cast<std::uint64_t>(rows->rows()));
      return Status::Ok();
    });
  });
  if (!s.ok()) obs::Log(obs::LogLevel::kWarn, "inventory: sweep failed", {{"error", s.message()}});
}

std::string StockJson(const pg::Result& r) {
  return json{{"sku", r.str(0, 0)}, {"on_hand", r.int64(0, 1)}, {"reserved", r.int64(0, 2)},
              {"available", r.int64(0, 1) - r.int64(0, 2)}}
      .dump();
}

class Sidecar final : public app::Sidecar {
 public:
  explicit Sidecar(std::unique_ptr<kit::Runtime> rt) : rt_(std::move(rt)) {}
  void Stop() override { rt_->Stop(); }
  kit::Runtime& rt() { return *rt_; }

 private:
  std::unique_ptr<kit::Runtime> rt_;
};

}  // namespace

void AddKeys(config::Schema& schema) {
  kit::AddMessagingKeys(schema);
  schema.Add({"inventory.sweep_interval", config::Type::kDuration, "1s",
              "how often expired reservations are released", 10, 3600000});
}

StatusOr<std::unique_ptr<app::Sidecar>> Start(const config::Config& cfg, net::Router& router) {
  obs::Registry& registry = obs::DefaultRegistry();
  auto rt = kit::Runtime::Start(cfg, kSchema, Migrations(), registry, saga::EnsureStreams);
  if (!rt.ok()) return rt.status();
  auto sidecar = std::make_unique<Sidecar>(std::move(*rt));
  kit::Runtime& runtime = sidecar->rt();
  pg::Pool& pool = runtime.pool();

  Status s = router.AddAsync(net::Method::kPut, "/v1/inventory/{sku}",
                             kit::OnPool(pool, [](pg::Connection& c, const kit::Call& call) -> kit::Reply {
                               const std::string& sku = call.params.at("sku");
                               if (!ValidSku(sku)) return kit::Error(400, "sku: 1-64 of [A-Za-z0-9._-]");
                               auto body = json::parse(call.body, nullptr, false);
                               if (body.is_discarded() || !body.is_object()) return kit::Error(400, "body: not a JSON object");
                               if (!body.contains("on_hand") || !body["on_hand"].is_number_integer() ||
                                   body["on_hand"].get<std::int64_t>() < 0) {
                                 return kit::Error(400, "on_hand: a non-negative integer is required");
                               }
                               const std::string n = std::to_string(body["on_hand"].get<std::int64_t>());
                               auto r = c.Exec(
                                   "INSERT INTO stock (sku, on_hand) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE "
                                   "SET on_hand = EXCLUDED.on_hand, updated_at = clock_timestamp() "
                                   "RETURNING sku, on_hand, reserved",
                                   {sku, n});
                               if (!r.ok()) {
                                 if (pg::SqlState(r.status()) == "23514") {
                                   return kit::Error(409, "on_hand " + n + " is below the quantity reserved for open orders");
                                 }
                                 return kit::ErrorFrom(r.status());
                               }
                               return {200, StockJson(*r), {}};
                             }));
  if (!s.ok()) return s;
  s = router.AddAsync(net::Method::kGet, "/v1/inventory/{sku}",
                      kit::OnPool(pool, [](pg::Connection& c, const kit::Call& call) -> kit::Reply {
                        const std::string& sku = call.params.at("sku");
                        if (!ValidSku(sku)) return kit::Error(400, "sku: 1-64 of [A-Za-z0-9._-]");
                        auto r = c.Exec("SELECT sku, on_hand, reserved FROM stock WHERE sku = $1", {sku});
                        if (!r.ok()) return kit::ErrorFrom(r.status());
                        if (r->rows() == 0) return kit::Error(404, "no stock record for sku " + sku);
                        return {200, StockJson(*r), {}};
                      }));
  if (!s.ok()) return s;
  s = runtime.StartInbox(saga::kStream, "inventory", saga::kInventoryCommands, saga::kDlqPrefix,
                         Handle);
  if (!s.ok()) return s;
  obs::Counter* expired = registry.AddCounter("keel_inventory_reservations_expired_total",
                                              "Reservations released by the sweeper after their TTL.")
                              .Get({});
  runtime.Every("inventory-sweeper", cfg.GetDuration("inventory.sweep_interval"),
                [&pool, expired] { Sweep(pool, expired); });
  return std::unique_ptr<app::Sidecar>(std::move(sidecar));
}

app::ServiceDef InventoryService() {
  app::ServiceDef def;
  def.name = "inventory";
  def.summary = "stock and reservations for the orders saga (PostgreSQL + NATS JetStream)";
  def.add_keys = AddKeys;
  def.start = [](const config::Config& cfg, const std::string&, net::Router& router) { return Start(cfg, router); };
  return def;
}

}  // namespace keel::inventory
