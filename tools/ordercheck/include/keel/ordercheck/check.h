// `keel orders check`: an invariant checker for the orders saga that trusts
// none of the services. It reads the three schemas (orders, inventory,
// payments; one database or three) in a read-only snapshot and judges what
// a correct saga must leave behind (docs/orders.md, "Invariants"):
//
//   stock         every SKU: on_hand - HELD reservations >= 0, and the
//                 reserved counter equals what HELD reservations hold
//   settled       every order CONFIRMED or CANCELLED
//   deadlines     no open order past its step deadline (+ grace), and no
//                 saga step that took longer than step_timeout (+ grace)
//   captures      no payment captured twice: a provider id belongs to one
//                 order, and a confirmed order's payment is the one captured
//   revenue       CONFIRMED <=> CAPTURED with the same amount and currency,
//                 so sum(captured) = sum(confirmed amounts)
//   refunds       refunds only for cancelled orders, and no cancelled order
//                 keeps an authorized or captured payment
//   reservations  CONFIRMED <=> COMMITTED; HELD only for open orders; every
//                 reservation belongs to an order
//   messages      every outbox row published, and every command and reply
//                 applied by its consumer (its CloudEvent id in that
//                 consumer's inbox; the inbox key makes it at most once)
//
//   auto snap = ordercheck::ReadSnapshot({.orders_url = url, ...});
//   ordercheck::Report r = ordercheck::Evaluate(*snap, {.step_timeout = 30s});
//   r.ok();  // every invariant held
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::ordercheck {

struct Order {
  std::string id, status, step, currency, payment_id;
  std::int64_t amount_cents = 0;
  std::optional<std::int64_t> step_deadline_ms;  // unix ms
  std::int64_t created_ms = 0;
  std::string reason;  // why it was cancelled
};

struct Move {  // a row of orders.order_history, in order per order
  std::string order_id, status;
  std::int64_t at_ms = 0;
};

struct Stock {
  std::string sku;
  std::int64_t on_hand = 0, reserved = 0;
};

struct Reservation {
  std::string order_id, status;
};

struct Payment {
  std::string order_id, status, provider_id, currency;
  std::int64_t amount_cents = 0;
};

struct Message {        // an outbox row
  std::string event_id;  // "<schema>-<outbox id>", the CloudEvent id
  std::string subject;
  bool published = false;
};

struct Snapshot {
  std::int64_t now_ms = 0;  // the database's clock when read
  std::vector<Order> orders;
  std::vector<Move> history;
  std::vector<Stock> stock;
  std::map<std::string, std::int64_t> held;  // sku -> qty in HELD reservations
  std::vector<Reservation> reservations;
  std::vector<Payment> payments;
  std::vector<Message> messages;                          // every schema's outbox
  std::map<std::string, std::set<std::string>> applied;  // consumer schema -> inbox ids
};

struct ReadOptions {
  std::string orders_url, inventory_url, payments_url;  // libpq URIs; equal = one snapshot
  Duration connect_timeout = std::chrono::seconds(5);
};
// Errors: Unavailable (cannot connect or read), NotFound (a schema is
// missing: the service never started against that database).
StatusOr<Snapshot> ReadSnapshot(const ReadOptions& options);

// The schema whose inbox a subject's messages land in ("saga.inventory.reserve"
// -> "inventory"), or "" for subjects no participant consumes (domain events).
std::string ConsumerOf(const std::string& subject);

struct Options {
  Duration step_timeout = std::chrono::seconds(30);  // orders.step_timeout of the run
  Duration grace = std::chrono::seconds(5);          // sweeper interval and clock slack
  std::size_t max_examples = 5;                      // per invariant
};

struct Invariant {
  std::string name, meaning;
  std::uint64_t violations = 0;
  std::vector<std::string> examples;  // the first max_examples
};

struct Report {
  std::vector<Invariant> invariants;
  std::map<std::string, std::uint64_t> orders_by_status;
  std::map<std::string, std::uint64_t> cancelled_by_reason;
  std::int64_t captured_cents = 0, confirmed_cents = 0;
  std::uint64_t skus = 0, messages = 0;
  bool ok() const;
  std::uint64_t violations() const;
};

Report Evaluate(const Snapshot& snapshot, const Options& options);

// The CLI. Exit codes: 0 every invariant held, 1 a violation, 2 bad
// arguments, 3 the databases could not be read.
struct CheckFlags {
  std::string postgres_url;  // empty: KEEL_POSTGRES_URL, else the services' default
  std::string orders_url, inventory_url, payments_url;  // per-schema overrides
  std::string step_timeout = "30s", grace = "5s";
  std::string settle = "0s";  // keep re-reading until the invariants hold or this passed
  std::size_t examples = 5;
  bool json = false;
};
int RunCheckCommand(const CheckFlags& flags);

}  // namespace keel::ordercheck
