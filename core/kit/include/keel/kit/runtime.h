// keel::kit::Runtime — what a service on PostgreSQL and NATS JetStream runs
// beside its HTTP routes: a connection pool, its schema's migrations (the
// outbox and inbox tables first), the outbox relay, inbox consumers and
// periodic jobs; stopped in the reverse order.
//
//   auto rt = kit::Runtime::Start(cfg, "inventory", InventoryMigrations(), registry,
//                                 saga::EnsureStreams);
//   (*rt)->StartInbox("SAGA", "inventory", "saga.inventory.>", "dlq.", handler);
//   (*rt)->Every("reservation-sweeper", 1s, [&] { Sweep(); });
//
// Config keys (kit::AddMessagingKeys), beside postgres.* and nats.*:
//   inbox.max_deliver    int       5      deliveries before a message is dead-lettered
//   inbox.retry_base     duration  100ms  redelivery backoff base (full jitter, doubling)
//   inbox.retry_cap      duration  10s    redelivery backoff cap
//   inbox.ack_wait       duration  30s    a message taken and not acked (a crash) comes back after this
//   outbox.poll_interval duration  500ms  relay poll when no NOTIFY came
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "keel/config/config.h"
#include "keel/kit/inbox.h"
#include "keel/kit/kit.h"
#include "keel/nats/nats.h"
#include "keel/obs/metrics.h"
#include "keel/outbox/outbox.h"
#include "keel/pg/migrate.h"
#include "keel/pg/pg.h"

namespace keel::kit {

void AddMessagingKeys(config::Schema& schema);

class Runtime {
 public:
  // Connects to NATS (runs `setup`, e.g. creating streams), opens the pool,
  // migrates `schema` (outbox = version 1, inbox = 2, then `migrations`) and
  // starts the relay. Errors name the server that failed.
  static StatusOr<std::unique_ptr<Runtime>> Start(const config::Config& cfg, const std::string& schema,
                                                  std::vector<pg::Migration> migrations,
                                                  obs::Registry& registry,
                                                  const std::function<Status(nats::Client&)>& setup);
  ~Runtime();  // Stop()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts a consumer of `stream` named `durable`; postgres, schema,
  // max_deliver and the backoff come from the runtime's config.
  Status StartInbox(const std::string& stream, const std::string& durable, const std::string& filter_subject,
                    const std::string& dlq_prefix, Inbox::Handler handler);
  void Every(std::string name, Duration interval, std::function<void()> fn);
  // Stops consumers and jobs, then the relay, pool and NATS connection.
  void Stop();

  pg::Pool& pool() { return *pool_; }
  nats::Client& nats() { return *nats_; }
  const std::string& schema() const { return schema_; }
  const pg::Options& postgres() const { return postgres_; }

 private:
  Runtime() = default;
  std::string schema_;
  pg::Options postgres_;
  Inbox::Options inbox_defaults_;
  obs::Registry* registry_ = nullptr;
  std::unique_ptr<nats::Client> nats_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<outbox::Relay> relay_;
  std::vector<std::unique_ptr<Inbox>> inboxes_;
  std::vector<std::unique_ptr<Periodic>> jobs_;
};

}  // namespace keel::kit
