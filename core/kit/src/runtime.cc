#include "keel/kit/runtime.h"

namespace keel::kit {

void AddMessagingKeys(config::Schema& schema) {
  using config::Type;
  AddPostgresKeys(schema);
  AddNatsKeys(schema);
  AddKeyOnce(schema, {"inbox.max_deliver", Type::kInt, "5", "deliveries of a failing message before it is dead-lettered", 1,
       1000});
  AddKeyOnce(schema, {"inbox.retry_base", Type::kDuration, "100ms", "redelivery backoff base (full jitter, doubling)", 1,
       3600000});
  AddKeyOnce(schema, {"inbox.retry_cap", Type::kDuration, "10s", "redelivery backoff cap", 1, 3600000});
  AddKeyOnce(schema, {"inbox.ack_wait", Type::kDuration, "30s", "a message taken and not acked (a crash) is redelivered after this",
       100, 3600000});
  AddKeyOnce(schema, {"inbox.workers", Type::kInt, "4",
       "handler threads per consumer; one order's messages stay on one, in order", 1, 64});
  AddKeyOnce(schema, {"outbox.poll_interval", Type::kDuration, "500ms", "outbox relay poll when no NOTIFY came", 10,
       3600000});
}

StatusOr<std::unique_ptr<Runtime>> Runtime::Start(const config::Config& cfg, const std::string& schema,
                                                  std::vector<pg::Migration> migrations,
                                                  obs::Registry& registry,
                                                  const std::function<Status(nats::Client&)>& setup) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->schema_ = schema;
  rt->registry_ = &registry;
  rt->postgres_ = PostgresOptions(cfg, schema);
  auto nc = nats::Client::Connect(NatsOptions(cfg, schema), registry);
  if (!nc.ok()) return Unavailable("nats.url: " + nc.status().message());
  rt->nats_ = std::move(*nc);
  if (setup) {
    if (Status s = setup(*rt->nats_); !s.ok()) return Unavailable("nats.url: " + s.message());
  }
  auto pool = pg::Pool::Create(rt->postgres_, registry);
  if (!pool.ok()) return pool.status();
  rt->pool_ = std::move(*pool);
  std::vector<pg::Migration> all = {outbox::TableMigration(1), InboxMigration(2)};
  for (auto& m : migrations) all.push_back(std::move(m));
  Status migrated = rt->pool_->Call(
      [&](pg::Connection& c) -> Status { return pg::Migrate(c, schema, all).status(); });
  if (!migrated.ok()) return Unavailable("postgres.url: " + migrated.message());
  outbox::RelayOptions ro;
  ro.postgres = rt->postgres_;
  ro.postgres.name = schema + "-relay";
  ro.schema = schema;
  ro.poll_interval = cfg.GetDuration("outbox.poll_interval");
  auto relay = outbox::Relay::Start(ro, *rt->nats_, registry);
  if (!relay.ok()) return relay.status();
  rt->relay_ = std::move(*relay);
  rt->inbox_defaults_.max_deliver = static_cast<int>(cfg.GetInt("inbox.max_deliver"));
  rt->inbox_defaults_.retry_base = cfg.GetDuration("inbox.retry_base");
  rt->inbox_defaults_.retry_cap = cfg.GetDuration("inbox.retry_cap");
  rt->inbox_defaults_.ack_wait = cfg.GetDuration("inbox.ack_wait");
  rt->inbox_defaults_.workers = static_cast<int>(cfg.GetInt("inbox.workers"));
  return rt;
}

Runtime::~Runtime() { Stop(); }

Status Runtime::StartInbox(const std::string& stream, const std::string& durable,
                           const std::string& filter_subject, const std::string& dlq_prefix,
                           Inbox::Handler handler) {
  Inbox::Options options;
  options.stream = stream;
  options.durable = durable;
  options.filter_subject = filter_subject;
  options.dlq_prefix = dlq_prefix;
  options.postgres = postgres_;
  options.postgres.name = schema_ + "-inbox";
  options.schema = schema_;
  options.max_deliver = inbox_defaults_.max_deliver;
  options.retry_base = inbox_defaults_.retry_base;
  options.retry_cap = inbox_defaults_.retry_cap;
  options.ack_wait = inbox_defaults_.ack_wait;
  options.workers = inbox_defaults_.workers;
  auto inbox = Inbox::Start(std::move(options), *nats_, *registry_, std::move(handler));
  if (!inbox.ok()) return inbox.status();
  inboxes_.push_back(std::move(*inbox));
  return Status::Ok();
}

void Runtime::Every(std::string name, Duration interval, std::function<void()> fn) {
  jobs_.push_back(std::make_unique<Periodic>(std::move(name), interval, std::move(fn)));
}

void Runtime::Stop() {
  inboxes_.clear();
  jobs_.clear();
  relay_.reset();
  pool_.reset();
  nats_.reset();
}

}  // namespace keel::kit
