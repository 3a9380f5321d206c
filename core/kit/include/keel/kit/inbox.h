// keel::kit::Inbox — the consuming half of the transactional outbox: a
// durable JetStream pull consumer whose handler's database effect and the
// record "message <id> processed" commit in one PostgreSQL transaction, so
// a redelivered message changes nothing.
//
//   kit::Inbox::Options o{.postgres = pgo, .schema = "inventory", .stream = "SAGA",
//                         .durable = "inventory", .filter_subject = "saga.inventory.>"};
//   auto inbox = kit::Inbox::Start(o, nats, registry,
//       [](const kit::Delivery& d, const kit::Inbox::Commit& commit) -> Status {
//         // external calls (idempotent) may happen here, before the commit
//         return commit([&](pg::Connection& tx) -> Status { ... UPDATE ...; outbox::Append(...); });
//       });
//
// Messages are CloudEvents 1.0 JSON (what outbox::Relay publishes); the
// processed id is the event's `id`, stable across redeliveries and DLQ
// replays. The table <schema>.inbox(id text primary key, processed_at)
// comes from InboxMigration().
//
// Outcomes of a handler:
//   OK                          commit, ack
//   InvalidArgument, FailedPrecondition, NotFound
//                               poison: straight to the DLQ
//   anything else (Unavailable) roll back, nak with full-jitter backoff
//                               (retry_base doubling to retry_cap); the
//                               max_deliver-th failure goes to the DLQ
// A failure while the inbox's own database connection is down (the server
// is restarting, failing over) is not the message's fault: the message is
// held (InProgress keeps JetStream from redelivering it) and tried again
// with backoff until the database is back, without spending deliveries;
// outcome database_wait counts the tries.
// The DLQ is a stream: the message is republished to "<dlq_prefix><durable>"
// with headers Keel-Dlq-Subject (its subject), Keel-Dlq-Error, Keel-Dlq-
// Delivered, Keel-Dlq-Consumer, then terminated. A message that is not a
// CloudEvent is poison.
//
// With workers = 1 messages are handled one at a time in stream order. With
// more, each message goes to the worker of its aggregate (the CloudEvent's
// `subject`), so one aggregate's messages are still handled one at a time
// in stream order, and different aggregates' in parallel, each worker with
// its own connection (their commits then share PostgreSQL's WAL flushes).
// Order across a nak is not kept: handlers must tolerate it.
//
// Metrics (label consumer): keel_inbox_messages_total{outcome=processed|
// duplicate|retried|dead_lettered|database_wait}, keel_inbox_handle_duration_seconds.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/nats/nats.h"
#include "keel/obs/metrics.h"
#include "keel/pg/migrate.h"
#include "keel/pg/pg.h"

namespace keel::kit {

pg::Migration InboxMigration(int version);

struct Delivery {
  std::string id;       // the CloudEvent id
  std::string type;     // the CloudEvent type
  std::string subject;  // the NATS subject
  nlohmann::json data;  // the CloudEvent data
  std::uint64_t delivered = 1;
};

class Inbox {
 public:
  struct Options {
    pg::Options postgres;  // one connection of its own
    std::string schema;
    std::string stream;
    std::string durable;
    std::string filter_subject;
    std::string dlq_prefix = "dlq.";
    int max_deliver = 5;
    Duration retry_base = std::chrono::milliseconds(100);
    Duration retry_cap = std::chrono::seconds(10);
    Duration ack_wait = std::chrono::seconds(30);
    int batch = 16;
    int workers = 1;  // handler threads, 1..64
  };
  // Runs fn in a transaction that also records the message as processed.
  // AlreadyExists from it means another delivery got there first.
  using Commit = std::function<Status(const std::function<Status(pg::Connection&)>&)>;
  using Handler = std::function<Status(const Delivery&, const Commit&)>;

  static StatusOr<std::unique_ptr<Inbox>> Start(Options options, nats::Client& nats,
                                                obs::Registry& registry, Handler handler);
  ~Inbox();  // stops and joins
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  std::uint64_t processed() const;

 private:
  struct Impl;
  explicit Inbox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::kit
