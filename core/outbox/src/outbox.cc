#include "keel/outbox/outbox.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace keel::outbox {

namespace {

std::string Channel(const std::string& schema) { return "keel_outbox_" + schema; }

// Unpublished rows from transactions older than every running one, in id
// order, with the CloudEvent built by the database and the row's age now.
constexpr const char* kReadySql = R"SQL(
SELECT id, subject,
       json_build_object('specversion', '1.0',
                         'id', $2 || '-' || id,
                         'source', source,
                         'type', type,
                         'subject', aggregate_id,
                         'time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                         'datacontenttype', 'application/json',
                         'data', data)::text,
       EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8
FROM outbox
WHERE published_at IS NULL AND txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY id
LIMIT $1)SQL";

}  // namespace

pg::Migration TableMigration(int version) {
  return {version, "outbox", R"SQL(
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  type text NOT NULL,
  source text NOT NULL,
  subject text NOT NULL,
  aggregate_id text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
)SQL"};
}

StatusOr<std::int64_t> Append(pg::Connection& tx, const std::string& schema, const Event& e) {
  if (e.type.empty() || e.subject.empty() || e.aggregate_id.empty()) {
    return InvalidArgument("outbox event: type, subject and aggregate_id are required");
  }
  const std::string q = pg::QuoteIdentifier(schema);
  auto r = tx.Exec("INSERT INTO " + q +
                       ".outbox (type, source, subject, aggregate_id, data) "
                       "VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id",
                   {e.type, e.source.empty() ? "/keel/" + schema : e.source, e.subject,
                    e.aggregate_id, e.data.empty() ? "null" : e.data});
  if (!r.ok()) return r.status();
  // Delivered at commit, once per transaction however many events it adds.
  if (auto n = tx.Exec("SELECT pg_notify($1, '')", {Channel(schema)}); !n.ok()) return n.status();
  return r->int64(0, 0);
}

struct Relay::Impl {
  RelayOptions options;
  nats::Client* nats = nullptr;
  obs::Counter* published = nullptr;
  obs::Counter* errors = nullptr;
  obs::Counter* batches = nullptr;
  obs::Gauge* lag = nullptr;
  obs::Histogram* delay = nullptr;
  std::atomic<std::uint64_t> count{0};
  std::atomic<bool> stop{false};
  std::thread thread;

  // One batch: publish in id order, mark what JetStream acked. The number
  // published, or the first error.
  StatusOr<int> Batch(pg::Connection& c) {
    auto rows = c.Exec(kReadySql, {std::to_string(options.batch), options.schema});
    if (!rows.ok()) return rows.status();
    const auto read_at = std::chrono::steady_clock::now();
    std::string ids;
    std::vector<double> delays;
    int done = 0;
    Status failed;
    for (int i = 0; i < rows->rows() && !stop; ++i) {
      const std::string id = rows->str(i, 0);
      auto ack = nats->Publish(rows->str(i, 1), rows->text(i, 2), options.schema + "-" + id,
                               {{"Content-Type", "application/cloudevents+json"}});
      if (!ack.ok()) {
        failed = ack.status();
        errors->Inc();
        break;  // keep the order: nothing after a failed event goes first
      }
      // The row's age when read (the database's clock, so no skew between
      // clocks) plus our time since. created_at is taken at the INSERT, before
      // the rest of the transaction and its commit: an upper bound of commit → ack.
      delays.push_back(std::strtod(rows->str(i, 3).c_str(), nullptr) +
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - read_at).count());
      ids += (ids.empty() ? "" : ",") + id;
      ++done;
    }
    if (!ids.empty()) {
      auto mark = c.Exec("UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY(('{' || $1 || '}')::bigint[])",
                         {ids});
      if (!mark.ok()) return mark.status();  // re-published later: de-duplicated
      // Observed with the mark, so the histogram's count is the published total's.
      for (double d : delays) delay->Observe(d);
      published->Inc(static_cast<std::uint64_t>(done));
      count += static_cast<std::uint64_t>(done);
    }
    batches->Inc();
    if (!failed.ok()) return failed;
    return done;
  }

  void UpdateLag(pg::Connection& c) {
    auto r = c.Exec(
        "SELECT COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) FROM outbox "
        "WHERE published_at IS NULL");
    if (r.ok()) lag->Set(std::strtod(r->str(0, 0).c_str(), nullptr));
  }

  void Run() {
    std::unique_ptr<pg::Connection> work, listen;
    auto lag_at = std::chrono::steady_clock::time_point{};
    while (!stop) {
      if (!work || !work->healthy() || !listen || !listen->healthy()) {
        work.reset();
        listen.reset();
        auto w = pg::Connection::Open(options.postgres);
        auto l = pg::Connection::Open(options.postgres);
        // The marks need not wait for their WAL flush: a mark lost in a
        // database crash only gets its row published again, which
        // JetStream's Nats-Msg-Id window and the consumers' inbox absorb.
        // Without this, every event costs one more flush wait.
        if (w.ok() && !(*w)->Exec("SET synchronous_commit = off").ok()) w = Unavailable("SET synchronous_commit");
        if (!w.ok() || !l.ok() || !(*l)->Listen(Channel(options.schema)).ok()) {
          errors->Inc();
          Wait(options.retry_backoff, nullptr);
          continue;
        }
        work = std::move(*w);
        listen = std::move(*l);
      }
      auto n = Batch(*work);
      // The lag gauge twice a second, not per batch: under load that query
      // would be a third of the relay's statements.
      if (std::chrono::steady_clock::now() - lag_at >= std::chrono::milliseconds(500)) {
        UpdateLag(*work);
        lag_at = std::chrono::steady_clock::now();
      }
      if (!n.ok()) {
        Wait(options.retry_backoff, nullptr);
        continue;
      }
      if (*n >= options.batch) continue;  // more may be ready
      // Rows from transactions not yet below xmin wait for the next round:
      // a notification, or the poll.
      Wait(options.poll_interval, listen.get());
    }
  }

  // Waits up to d, in 100 ms slices so a stop is seen promptly; with a
  // listening connection, returns early on a notification or its error.
  void Wait(Duration d, pg::Connection* listen) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop && std::chrono::steady_clock::now() < until) {
      const auto slice = std::min<Duration>(std::chrono::milliseconds(100),
                                            until - std::chrono::steady_clock::now());
      if (listen == nullptr) {
        std::this_thread::sleep_for(slice);
        continue;
      }
      auto got = listen->Wait(slice);
      if (!got.ok() || !got->empty()) return;
    }
  }
};

StatusOr<std::unique_ptr<Relay>> Relay::Start(RelayOptions options, nats::Client& nats,
                                              obs::Registry& registry) {
  if (options.schema.empty()) return InvalidArgument("outbox relay: schema is empty");
  if (options.batch < 1) return InvalidArgument("outbox relay: batch must be >= 1");
  if (Status s = pg::ValidateOptions(options.postgres); !s.ok()) return s;
  options.postgres.search_path = options.schema;
  auto impl = std::make_unique<Impl>();
  const std::string& schema = options.schema;
  impl->published = registry.AddCounter("keel_outbox_published_total",
                                        "Outbox events published to JetStream and marked.", {"schema"})
                        .Get({schema});
  impl->errors = registry.AddCounter("keel_outbox_publish_errors_total",
                                     "Outbox relay errors (publish, database).", {"schema"})
                     .Get({schema});
  impl->batches = registry.AddCounter("keel_outbox_relay_batches_total", "Outbox relay batches run.",
                                      {"schema"})
                      .Get({schema});
  impl->lag = registry.AddGauge("keel_outbox_lag_seconds",
                                "Age of the oldest unpublished outbox event (0 when none).", {"schema"})
                  .Get({schema});
  impl->delay = registry.AddHistogram("keel_outbox_publish_delay_seconds",
                                      "Outbox event commit (upper bound: its insert) to JetStream ack.",
                                      {"schema"})
                    .Get({schema});
  impl->options = std::move(options);
  impl->nats = &nats;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

Relay::Relay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Relay::~Relay() {
  impl_->stop = true;
  impl_->thread.join();
}

std::uint64_t Relay::published() const { return impl_->count.load(); }

}  // namespace keel::outbox
