#include "keel/kit/inbox.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "keel/obs/log.h"

namespace keel::kit {

pg::Migration InboxMigration(int version) {
  return {version, "inbox", R"SQL(
CREATE TABLE inbox (
  id text PRIMARY KEY,
  processed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
)SQL"};
}

struct Inbox::Impl {
  Options options;
  nats::Client* nats = nullptr;
  Handler handler;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> count{0};
  std::thread thread;
  obs::Counter* processed = nullptr;
  obs::Counter* duplicate = nullptr;
  obs::Counter* retried = nullptr;
  obs::Counter* dead = nullptr;
  obs::Counter* waited = nullptr;
  obs::Histogram* duration = nullptr;

  // One handler thread: its own connection, and the messages routed to it.
  struct Worker {
    std::unique_ptr<pg::Connection> conn;
    std::mt19937_64 rng{std::random_device{}()};
    std::deque<nats::Message> queue;  // guarded by Impl::mu
    std::thread thread;
  };
  std::vector<std::unique_ptr<Worker>> workers;
  std::mutex mu;
  std::condition_variable cv;  // a queue gained a message, lost one, or stop
  std::size_t queued = 0;      // guarded by mu

  // Full jitter: uniform in [0, min(cap, base * 2^(n-1))].
  Duration Backoff(Worker& w, std::uint64_t delivered) {
    const auto shift = std::min<std::uint64_t>(delivered > 0 ? delivered - 1 : 0, 20);
    const auto ceiling = std::min<Duration>(options.retry_cap, options.retry_base * (1LL << shift));
    std::uniform_int_distribution<Duration::rep> d(0, ceiling.count());
    return Duration(d(w.rng));
  }

  void DeadLetter(Worker& w, nats::Message& m, const std::string& id, const std::string& error) {
    const std::string dlq_id = "dlq-" + (id.empty() ? std::string(m.subject()) : id) + "-" +
                               std::to_string(m.stream_sequence());
    auto ack = nats->Publish(options.dlq_prefix + options.durable, m.data(), dlq_id,
                             {{"Keel-Dlq-Subject", std::string(m.subject())},
                              {"Keel-Dlq-Error", error.substr(0, 1000)},
                              {"Keel-Dlq-Delivered", std::to_string(m.delivered())},
                              {"Keel-Dlq-Consumer", options.durable},
                              {"Content-Type", "application/cloudevents+json"}});
    if (!ack.ok()) {
      obs::Log(obs::LogLevel::kWarn, "inbox: dead-letter publish failed",
               {{"consumer", options.durable}, {"error", ack.status().message()}});
      (void)m.Nak(Backoff(w, m.delivered()));
      return;
    }
    dead->Inc();
    obs::Log(obs::LogLevel::kWarn, "inbox: message dead-lettered",
             {{"consumer", options.durable}, {"subject", std::string(m.subject())}, {"id", id},
              {"error", error}});
    (void)m.Term();
  }

  // One try: the processed check, then the handler with its commit.
  Status Attempt(Worker& w, const Delivery& d) {
    const std::string table = pg::QuoteIdentifier(options.schema) + ".inbox";
    auto& conn = w.conn;
    if (!conn || !conn->Probe()) {  // Probe: a connection the server closed while idle
      conn.reset();
      auto c = pg::Connection::Open(options.postgres);
      if (!c.ok()) return c.status();
      conn = std::move(*c);
    }
    auto seen = conn->Exec("SELECT 1 FROM " + table + " WHERE id = $1", {d.id});
    if (!seen.ok()) return seen.status();
    if (seen->rows() > 0) return AlreadyExists("already processed");
    Commit commit = [&](const std::function<Status(pg::Connection&)>& fn) -> Status {
      return pg::Transact(*conn, {}, [&](pg::Connection& tx) -> Status {
        auto r = tx.Exec("INSERT INTO " + table + " (id) VALUES ($1) ON CONFLICT DO NOTHING", {d.id});
        if (!r.ok()) return r.status();
        if (r->affected() == 0) return AlreadyExists("already processed");
        return fn(tx);
      });
    };
    return handler(d, commit);
  }

  static bool IsEvent(const nlohmann::json& event) {
    return !event.is_discarded() && event.is_object() && event.contains("id") && event["id"].is_string();
  }

  void Handle(Worker& w, nats::Message& m) {
    const auto start = std::chrono::steady_clock::now();
    auto event = nlohmann::json::parse(m.data(), nullptr, false);
    if (!IsEvent(event)) {
      DeadLetter(w, m, "", "not a CloudEvents JSON message");
      return;
    }
    auto& conn = w.conn;
    Delivery d;
    d.id = event["id"].get<std::string>();
    d.type = event.value("type", "");
    d.subject = std::string(m.subject());
    d.data = event.contains("data") ? event["data"] : nlohmann::json();
    d.delivered = m.delivered();
    // While the inbox's own database is unreachable no message can be
    // handled, and the failure is not the message's: hold it (telling
    // JetStream it is in progress) and try again once the database is back,
    // without spending its deliveries on the way to the DLQ.
    Status s;
    for (std::uint64_t attempt = 1;; ++attempt) {
      s = Attempt(w, d);
      if (s.ok() || s.code() == StatusCode::kAlreadyExists || (conn && conn->healthy()) || stop) break;
      waited->Inc();
      if (attempt == 1) {
        obs::Log(obs::LogLevel::kWarn, "inbox: database unavailable, holding the message",
                 {{"consumer", options.durable}, {"id", d.id}, {"error", s.message()}});
      }
      Pause(std::min<Duration>(std::max(Backoff(w, attempt), options.retry_base), options.ack_wait / 3));
      (void)m.InProgress();
    }
    if (stop && !s.ok() && !(conn && conn->healthy())) {
      (void)m.Nak();  // shutting down: redelivered to the next start
      return;
    }
    duration->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (s.ok()) {
      processed->Inc();
      ++count;
      (void)m.Ack();
      return;
    }
    if (s.code() == StatusCode::kAlreadyExists) {
      duplicate->Inc();
      (void)m.Ack();
      return;
    }
    const bool poison = s.code() == StatusCode::kInvalidArgument ||
                        s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kNotFound;
    if (poison || m.delivered() >= static_cast<std::uint64_t>(options.max_deliver)) {
      DeadLetter(w, m, d.id, s.message());
      return;
    }
    retried->Inc();
    obs::Log(obs::LogLevel::kInfo, "inbox: retrying message",
             {{"consumer", options.durable}, {"id", d.id}, {"delivered", std::to_string(m.delivered())},
              {"error", s.message()}});
    (void)m.Nak(Backoff(w, m.delivered()));
  }

  // Sleeps `d` in 50 ms slices, so a stop is seen promptly.
  void Pause(Duration d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  void Run() {
    std::unique_ptr<nats::PullConsumer> consumer;
    while (!stop) {
      if (!consumer) {
        auto c = nats->PullSubscribe(options.stream, {.durable = options.durable,
                                                      .filter_subject = options.filter_subject,
                                                      .ack_wait = options.ack_wait,
                                                      .max_deliver = -1,
                                                      .max_ack_pending = 1000});
        if (!c.ok()) {
          obs::Log(obs::LogLevel::kWarn, "inbox: cannot subscribe",
                   {{"consumer", options.durable}, {"error", c.status().message()}});
          Pause(std::chrono::milliseconds(500));
          continue;
        }
        consumer = std::move(*c);
      }
      auto got = consumer->Fetch(options.batch, std::chrono::milliseconds(200));
      if (!got.ok()) {
        Pause(std::chrono::milliseconds(200));
        continue;
      }
      for (auto& m : *got) {
        if (stop) {
          (void)m.Nak();
          continue;
        }
        if (workers.size() == 1) {
          Handle(*workers[0], m);
        } else {
          Dispatch(std::move(m));
        }
      }
    }
  }

  // Routes a message to the worker of its aggregate (the CloudEvent's
  // subject: the order id), so that one aggregate's messages are handled in
  // order, one at a time, as with a single worker, while other aggregates'
  // run in parallel. Waits while the workers hold enough already.
  void Dispatch(nats::Message m) {
    auto event = nlohmann::json::parse(m.data(), nullptr, false);
    std::string key(m.subject());
    if (IsEvent(event) && event.contains("subject") && event["subject"].is_string()) {
      key = event["subject"].get<std::string>();
    }
    Worker& w = *workers[std::hash<std::string>{}(key) % workers.size()];
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return stop || queued < 4 * workers.size(); });
    w.queue.push_back(std::move(m));
    ++queued;
    cv.notify_all();
  }

  void Work(Worker& w) {
    while (true) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stop || !w.queue.empty(); });
      if (w.queue.empty()) return;  // stopped
      nats::Message m = std::move(w.queue.front());
      w.queue.pop_front();
      --queued;
      cv.notify_all();
      lock.unlock();
      if (stop) {
        (void)m.Nak();  // redelivered to the next start
        continue;
      }
      Handle(w, m);
    }
  }
};

StatusOr<std::unique_ptr<Inbox>> Inbox::Start(Options options, nats::Client& nats, obs::Registry& registry,
                                              Handler handler) {
  if (options.schema.empty() || options.stream.empty() || options.durable.empty() ||
      options.filter_subject.empty()) {
    return InvalidArgument("inbox: schema, stream, durable and filter_subject are required");
  }
  if (options.max_deliver < 1) return InvalidArgument("inbox: max_deliver must be >= 1");
  if (options.workers < 1 || options.workers > 64) return InvalidArgument("inbox: workers must be 1..64");
  if (Status s = pg::ValidateOptions(options.postgres); !s.ok()) return s;
  options.postgres.search_path = options.schema;
  auto impl = std::make_unique<Impl>();
  auto& family = registry.AddCounter("keel_inbox_messages_total",
                                     "Messages an inbox consumer took, by outcome.", {"consumer", "outcome"});
  const std::string& c = options.durable;
  impl->processed = family.Get({c, "processed"});
  impl->duplicate = family.Get({c, "duplicate"});
  impl->retried = family.Get({c, "retried"});
  impl->dead = family.Get({c, "dead_lettered"});
  impl->waited = family.Get({c, "database_wait"});
  impl->duration = registry.AddHistogram("keel_inbox_handle_duration_seconds",
                                         "Time to handle one message (database and calls).", {"consumer"})
                       .Get({c});
  impl->options = std::move(options);
  impl->nats = &nats;
  impl->handler = std::move(handler);
  Impl* raw = impl.get();
  for (int i = 0; i < impl->options.workers; ++i) impl->workers.push_back(std::make_unique<Impl::Worker>());
  if (impl->workers.size() > 1) {
    for (auto& w : impl->workers) {
      Impl::Worker* wp = w.get();
      w->thread = std::thread([raw, wp] { raw->Work(*wp); });
    }
  }
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<Inbox>(new Inbox(std::move(impl)));
}

Inbox::Inbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Inbox::~Inbox() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);  // no worker misses the wake-up
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

std::uint64_t Inbox::processed() const { return impl_->count.load(); }

}  // namespace keel::kit
