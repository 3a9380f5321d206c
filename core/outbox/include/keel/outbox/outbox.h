// keel::outbox — the transactional outbox: a service writes its domain
// change and the event about it in one PostgreSQL transaction; a relay
// publishes the events to NATS JetStream as CloudEvents 1.0 JSON.
//
//   migrations.push_back(outbox::TableMigration(3));        // the outbox table
//   pg::Transact(conn, {}, [&](pg::Connection& tx) -> Status {
//     ... UPDATE orders ... ;
//     return outbox::Append(tx, "orders", {.type = "order.created", .subject = "orders.created",
//                                          .aggregate_id = id, .data = R"({"id":"o1"})"});
//   });
//   outbox::Relay relay(options, nats_client, registry);   // a thread of its own
//
// Guarantees:
// - Nothing is lost: an event is in the outbox iff its transaction
//   committed; the relay marks it published only after JetStream acked it.
// - No duplicates downstream from a relay crash: the JetStream message id is
//   "<schema>-<outbox id>", so a re-publish after a crash between ack and
//   mark is dropped by the stream's de-duplication window.
// - No row skipped and no reordering by out-of-order commits: the relay
//   never keeps a high-water mark; it reads unpublished rows in id order, and
//   only rows written by transactions older than the oldest one still running
//   (txid < pg_snapshot_xmin), so an in-flight transaction's lower id is
//   never overtaken.
// - Latency: Append notifies (NOTIFY at commit) and the relay listens; a
//   lost notification costs at most poll_interval.
//
// Metrics (label schema): keel_outbox_published_total,
// keel_outbox_publish_errors_total, keel_outbox_lag_seconds (age of the
// oldest unpublished event), keel_outbox_publish_delay_seconds (histogram,
// one observation per published event: its insert to JetStream's ack, an
// upper bound of commit → ack), keel_outbox_relay_batches_total.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/nats/nats.h"
#include "keel/obs/metrics.h"
#include "keel/pg/migrate.h"
#include "keel/pg/pg.h"

namespace keel::outbox {

// The migration that creates the outbox table in the service's schema.
pg::Migration TableMigration(int version);

struct Event {
  std::string type;          // CloudEvents type, e.g. "order.created"
  std::string subject;       // the NATS subject to publish to
  std::string aggregate_id;  // CloudEvents subject; ordering is per aggregate
  std::string data;          // a JSON value (the CloudEvent's data)
  std::string source;        // CloudEvents source; default "/keel/<schema>"
};

// Inserts the event (inside the caller's transaction) and notifies the
// relay at commit. `schema` is the service's schema holding the outbox.
// Returns the outbox id.
StatusOr<std::int64_t> Append(pg::Connection& tx, const std::string& schema, const Event& event);

struct RelayOptions {
  pg::Options postgres;  // the relay opens its own two connections
  std::string schema;    // whose outbox
  int batch = 100;
  Duration poll_interval = std::chrono::milliseconds(500);
  Duration retry_backoff = std::chrono::milliseconds(200);  // after an error
};

class Relay {
 public:
  // Starts the relay thread. The nats client must outlive the relay.
  static StatusOr<std::unique_ptr<Relay>> Start(RelayOptions options, nats::Client& nats,
                                                obs::Registry& registry);
  ~Relay();  // stops and joins
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Events this relay has published (and marked) so far.
  std::uint64_t published() const;

 private:
  struct Impl;
  explicit Relay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::outbox
