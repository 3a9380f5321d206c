// Reads the three schemas. Schemas that share a database are read in one
// REPEATABLE READ READ ONLY transaction, so the counters and rows compared
// come from one instant; separate databases are read one after the other
// (`--settle` re-reads until any skew between them is gone).
#include <functional>

#include "keel/ordercheck/check.h"
#include "keel/pg/pg.h"

namespace keel::ordercheck {
namespace {

using Reader = std::function<Status(pg::Connection&, Snapshot&)>;

StatusOr<pg::Result> Query(pg::Connection& c, const std::string& sql) {
  auto r = c.Exec(sql);
  if (!r.ok() && pg::SqlState(r.status()) == "42P01") {  // undefined_table
    return NotFound(r.status().message() + " (has the service run against this database?)");
  }
  return r;
}

// Every outbox row of `schema` and the ids its inbox holds.
Status ReadMessages(pg::Connection& c, const std::string& schema, Snapshot& s) {
  auto out = Query(c, "SELECT id, subject, published_at IS NOT NULL FROM " + schema + ".outbox ORDER BY id");
  if (!out.ok()) return out.status();
  for (int i = 0; i < out->rows(); ++i) {
    s.messages.push_back({schema + "-" + out->str(i, 0), out->str(i, 1), out->boolean(i, 2)});
  }
  auto in = Query(c, "SELECT id FROM " + schema + ".inbox");
  if (!in.ok()) return in.status();
  auto& ids = s.applied[schema];
  for (int i = 0; i < in->rows(); ++i) ids.insert(in->str(i, 0));
  return Status::Ok();
}

constexpr const char* kMs = "(extract(epoch FROM %s) * 1000)::bigint";

std::string Ms(const std::string& column) {
  char buf[128];
  std::snprintf(buf, sizeof buf, kMs, column.c_str());
  return buf;
}

Status ReadOrders(pg::Connection& c, Snapshot& s) {
  auto now = Query(c, "SELECT " + Ms("clock_timestamp()"));
  if (!now.ok()) return now.status();
  s.now_ms = now->int64(0, 0);
  auto o = Query(c, "SELECT id, status, step, currency, coalesce(payment_id, ''), amount_cents, " + Ms("step_deadline") +
                        ", " + Ms("created_at") + ", coalesce(reason, '') FROM orders.orders ORDER BY id");
  if (!o.ok()) return o.status();
  for (int i = 0; i < o->rows(); ++i) {
    Order order{o->str(i, 0), o->str(i, 1), o->str(i, 2), o->str(i, 3), o->str(i, 4), o->int64(i, 5)};
    if (!o->null(i, 6)) order.step_deadline_ms = o->int64(i, 6);
    order.created_ms = o->int64(i, 7);
    order.reason = o->str(i, 8);
    s.orders.push_back(std::move(order));
  }
  auto h = Query(c, "SELECT order_id, status, " + Ms("at") + " FROM orders.order_history ORDER BY order_id, seq");
  if (!h.ok()) return h.status();
  for (int i = 0; i < h->rows(); ++i) s.history.push_back({h->str(i, 0), h->str(i, 1), h->int64(i, 2)});
  return ReadMessages(c, "orders", s);
}

Status ReadInventory(pg::Connection& c, Snapshot& s) {
  auto st = Query(c, "SELECT sku, on_hand, reserved FROM inventory.stock ORDER BY sku");
  if (!st.ok()) return st.status();
  for (int i = 0; i < st->rows(); ++i) s.stock.push_back({st->str(i, 0), st->int64(i, 1), st->int64(i, 2)});
  auto held = Query(c,
                    "SELECT x.sku, sum(x.qty)::bigint FROM inventory.reservations r, "
                    "jsonb_to_recordset(r.items) AS x(sku text, qty bigint) WHERE r.status = 'HELD' GROUP BY x.sku");
  if (!held.ok()) return held.status();
  for (int i = 0; i < held->rows(); ++i) s.held[held->str(i, 0)] = held->int64(i, 1);
  auto r = Query(c, "SELECT order_id, status FROM inventory.reservations");
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) s.reservations.push_back({r->str(i, 0), r->str(i, 1)});
  return ReadMessages(c, "inventory", s);
}

Status ReadPayments(pg::Connection& c, Snapshot& s) {
  auto p = Query(c,
                 "SELECT order_id, status, coalesce(provider_id, ''), coalesce(currency, ''), "
                 "coalesce(amount_cents, 0) FROM payments.payments");
  if (!p.ok()) return p.status();
  for (int i = 0; i < p->rows(); ++i) {
    s.payments.push_back({p->str(i, 0), p->str(i, 1), p->str(i, 2), p->str(i, 3), p->int64(i, 4)});
  }
  return ReadMessages(c, "payments", s);
}

}  // namespace

StatusOr<Snapshot> ReadSnapshot(const ReadOptions& options) {
  // Readers grouped by database, in a fixed order.
  std::vector<std::pair<std::string, std::vector<Reader>>> dbs;
  auto add = [&](const std::string& url, Reader reader) {
    for (auto& [u, readers] : dbs) {
      if (u == url) {
        readers.push_back(std::move(reader));
        return;
      }
    }
    dbs.push_back({url, {std::move(reader)}});
  };
  add(options.orders_url, ReadOrders);
  add(options.inventory_url, ReadInventory);
  add(options.payments_url, ReadPayments);
  Snapshot s;
  for (auto& [url, readers] : dbs) {
    pg::Options po{.url = url, .name = "ordercheck", .pool_size = 1, .connect_timeout = options.connect_timeout,
                   .statement_timeout = std::chrono::seconds(60), .application_name = "keel-orders-check"};
    auto c = pg::Connection::Open(po);
    if (!c.ok()) return Unavailable("postgres " + url + ": " + c.status().message());
    auto begin = (*c)->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (!begin.ok()) return Unavailable(begin.status().message());
    for (const Reader& read : readers) {
      if (Status st = read(**c, s); !st.ok()) return st;
    }
    (void)(*c)->Exec("COMMIT");
  }
  return s;
}

}  // namespace keel::ordercheck
