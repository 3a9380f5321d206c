#include "keel/pg/pg.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "keel/base/clock.h"

namespace keel::pg {

namespace {

constexpr std::string_view kSqlStatePrefix = "SQLSTATE ";

StatusCode CodeFor(std::string_view state) {
  if (state == "23505") return StatusCode::kAlreadyExists;
  if (state == "40001" || state == "40P01") return StatusCode::kAborted;
  if (state == "57014") return StatusCode::kUnavailable;  // statement timeout / cancel
  if (state.substr(0, 2) == "08" || state.substr(0, 2) == "57" || state.substr(0, 2) == "53") {
    return StatusCode::kUnavailable;  // connection, shutdown, out of resources
  }
  if (state.substr(0, 2) == "22" || state.substr(0, 2) == "23") {
    return StatusCode::kFailedPrecondition;  // data exception, integrity violation
  }
  return StatusCode::kInternal;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

long Seconds(Duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

Status ValidateOptions(const Options& o) {
  if (o.url.empty()) return InvalidArgument("postgres.url is empty");
  if (o.pool_size < 1 || o.pool_size > 256) return InvalidArgument("postgres pool_size must be 1..256");
  if (o.connect_timeout < std::chrono::seconds(1)) {
    return InvalidArgument("postgres connect_timeout must be >= 1s (libpq counts whole seconds)");
  }
  if (o.statement_timeout < Duration::zero()) {
    return InvalidArgument("postgres statement_timeout must be >= 0");
  }
  if (o.max_queue < 1) return InvalidArgument("postgres max_queue must be >= 1");
  if (o.reconnect_backoff_min <= Duration::zero() ||
      o.reconnect_backoff_max < o.reconnect_backoff_min) {
    return InvalidArgument("postgres reconnect backoff: need 0 < min <= max");
  }
  return Status::Ok();
}

std::string SqlState(const Status& status) {
  const std::string& m = status.message();
  const auto at = m.find(kSqlStatePrefix);
  if (at == std::string::npos || m.size() < at + kSqlStatePrefix.size() + 5) return "";
  return m.substr(at + kSqlStatePrefix.size(), 5);
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// Result ---------------------------------------------------------------------

int Result::rows() const { return r_ ? PQntuples(r_.get()) : 0; }
int Result::columns() const { return r_ ? PQnfields(r_.get()) : 0; }

int Result::column(std::string_view name) const {
  if (!r_) return -1;
  for (int i = 0; i < PQnfields(r_.get()); ++i) {
    if (name == PQfname(r_.get(), i)) return i;
  }
  return -1;
}

bool Result::null(int row, int col) const {
  return !r_ || row < 0 || row >= rows() || col < 0 || col >= columns() ||
         PQgetisnull(r_.get(), row, col) == 1;
}

std::string_view Result::text(int row, int col) const {
  if (null(row, col)) return {};
  return {PQgetvalue(r_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

std::optional<std::string> Result::opt(int row, int col) const {
  if (null(row, col)) return std::nullopt;
  return str(row, col);
}

std::int64_t Result::int64(int row, int col) const {
  if (null(row, col)) return 0;
  return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}

bool Result::boolean(int row, int col) const { return text(row, col) == "t"; }

std::int64_t Result::affected() const {
  if (!r_) return 0;
  return std::strtoll(PQcmdTuples(r_.get()), nullptr, 10);
}

// Connection -----------------------------------------------------------------

StatusOr<std::unique_ptr<Connection>> Connection::Open(const Options& options) {
  if (Status s = ValidateOptions(options); !s.ok()) return s;
  const std::string timeout = std::to_string(Seconds(options.connect_timeout));
  // expand_dbname: `url` may be a URI or conninfo; the later keys add to it.
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {options.url.c_str(), timeout.c_str(), options.application_name.c_str(),
                          nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn == nullptr) return Unavailable("postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = Trim(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable("postgres connect: " + why);
  }
  // Server NOTICEs ("relation already exists, skipping") are not errors;
  // libpq would print them on stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<Connection> c(new Connection(conn));
  std::string setup = "SET statement_timeout = " +
                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         options.statement_timeout)
                                         .count());
  if (!options.search_path.empty()) setup += "; SET search_path = " + QuoteIdentifier(options.search_path);
  if (Status s = c->Script(setup); !s.ok()) return s;
  return c;
}

Connection::~Connection() { PQfinish(conn_); }

Status Connection::ErrorFrom(const pg_result* r, std::string_view sql) const {
  if (PQstatus(conn_) == CONNECTION_BAD) {
    return Lost();
  }
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = Trim(r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  if (message.empty()) message = Trim(PQerrorMessage(conn_));
  std::string head(sql.substr(0, 60));
  std::replace(head.begin(), head.end(), '\n', ' ');
  if (state == nullptr) return Internal("postgres: " + message + " (in: " + head + ")");
  return Status(CodeFor(state),
                std::string(kSqlStatePrefix) + state + ": " + message + " (in: " + head + ")");
}

StatusOr<Result> Connection::Exec(std::string_view sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  PGresult* raw = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
  std::shared_ptr<pg_result> r(raw, PQclear);
  const auto st = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return ErrorFrom(raw, sql);
  return Result(std::move(r));
}

Status Connection::Script(std::string_view sql) {
  const std::string text(sql);
  PGresult* raw = PQexec(conn_, text.c_str());
  std::shared_ptr<pg_result> r(raw, PQclear);
  const auto st = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return ErrorFrom(raw, sql);
  return Status::Ok();
}

Status Connection::Listen(std::string_view channel) {
  return Script("LISTEN " + QuoteIdentifier(channel));
}

Status Connection::Lost() const {
  return Unavailable("postgres connection lost: " + Trim(PQerrorMessage(conn_)));
}

std::vector<Notification> Connection::Drain() {
  std::vector<Notification> out;
  while (PGnotify* n = PQnotifies(conn_)) {
    out.push_back({n->relname, n->extra != nullptr ? n->extra : "", n->be_pid});
    PQfreemem(n);
  }
  return out;
}

StatusOr<std::vector<Notification>> Connection::Wait(Duration timeout) {
  // Reads what arrived (first without waiting, then each time the socket
  // is readable) until a notification is there or the time is up.
  const auto until = SystemClock::Default().Now() + timeout;
  bool readable = true;
  while (true) {
    if (readable) {
      if (PQconsumeInput(conn_) == 0) return Lost();
      if (auto got = Drain(); !got.empty()) return got;
    }
    const auto left = until - SystemClock::Default().Now();
    if (left <= Duration::zero()) return std::vector<Notification>{};
    pollfd fd{PQsocket(conn_), POLLIN, 0};
    const int ms = static_cast<int>(
        std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
    const int n = ::poll(&fd, 1, ms);
    if (n < 0 && errno != EINTR) return Unavailable("postgres: poll failed");
    readable = n > 0;
  }
}

bool Connection::Probe() {
  // Readable while idle: a NOTIFY (kept for Wait), a FATAL message from a
  // terminated backend, or EOF, which marks the connection bad. A few
  // rounds: the message and the EOF after it may arrive as two reads.
  for (int round = 0; round < 4 && PQstatus(conn_) == CONNECTION_OK; ++round) {
    pollfd fd{PQsocket(conn_), POLLIN, 0};
    if (fd.fd < 0 || ::poll(&fd, 1, 0) <= 0) break;
    if (PQconsumeInput(conn_) == 0) break;
  }
  return healthy();
}

bool Connection::healthy() const {
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_INERROR &&
         PQtransactionStatus(conn_) != PQTRANS_UNKNOWN;
}

bool Connection::in_transaction() const {
  const auto t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

int Connection::server_version() const { return PQserverVersion(conn_); }
int Connection::backend_pid() const { return PQbackendPID(conn_); }

// Transact -------------------------------------------------------------------

Status Transact(Connection& conn, const TxOptions& options,
                const std::function<Status(Connection&)>& fn, obs::Counter* retries) {
  static thread_local std::minstd_rand rng(std::random_device{}());
  const char* begin = options.isolation == Isolation::kSerializable
                          ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                      : options.isolation == Isolation::kRepeatableRead
                          ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                          : "BEGIN";
  Status last;
  for (int attempt = 1; attempt <= std::max(1, options.max_attempts); ++attempt) {
    if (attempt > 1) {
      if (retries != nullptr) retries->Inc();
      const auto cap = options.backoff_base.count() << std::min(attempt - 2, 10);
      std::uniform_int_distribution<std::int64_t> jitter(0, std::max<std::int64_t>(0, cap));
      std::this_thread::sleep_for(Duration(jitter(rng)));
    }
    if (Status s = conn.Script(begin); !s.ok()) return s;
    last = fn(conn);
    if (last.ok()) last = conn.Script("COMMIT");
    if (last.ok()) return last;
    if (conn.in_transaction()) (void)conn.Script("ROLLBACK");
    if (last.code() != StatusCode::kAborted) return last;
  }
  return last;
}

// Pool -----------------------------------------------------------------------

struct Pool::Impl {
  Options options;
  obs::Counter* ok = nullptr;
  obs::Counter* broken = nullptr;
  obs::Counter* no_connection = nullptr;
  obs::Counter* rejected = nullptr;
  obs::Counter* connect_errors = nullptr;
  obs::Counter* retries = nullptr;
  obs::Histogram* duration = nullptr;
  obs::Gauge* depth = nullptr;
  obs::Gauge* connections = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Task> queue;  // GUARDED_BY(mu)
  bool stopping = false;   // GUARDED_BY(mu)
  std::vector<std::thread> workers;

  void Work() {
    std::unique_ptr<Connection> conn;
    Duration backoff = options.reconnect_backoff_min;
    Clock::time_point next_attempt{};
    Status last_error = Unavailable("postgres: not connected yet");
    std::minstd_rand rng(std::random_device{}());
    while (true) {
      Task task;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) break;  // stopping and drained
        task = std::move(queue.front());
        queue.pop_front();
        depth->Set(static_cast<double>(queue.size()));
      }
      // Probe: after a failover, a worker that sat idle still holds a
      // connection to the dead server; it reconnects now rather than fail
      // its next task.
      if (conn && !conn->Probe()) {
        conn.reset();
        connections->Add(-1);
      }
      const auto now = SystemClock::Default().Now();
      if (!conn && now >= next_attempt) {
        auto opened = Connection::Open(options);
        if (opened.ok()) {
          conn = std::move(*opened);
          connections->Add(1);
          backoff = options.reconnect_backoff_min;
        } else {
          last_error = opened.status();
          connect_errors->Inc();
          std::uniform_int_distribution<std::int64_t> jitter(0, backoff.count());
          next_attempt = now + Duration(jitter(rng));
          backoff = std::min(backoff * 2, options.reconnect_backoff_max);
        }
      }
      if (!conn) {
        no_connection->Inc();
        task(last_error);
        continue;
      }
      const auto start = SystemClock::Default().Now();
      task(conn.get());
      duration->Observe(std::chrono::duration<double>(SystemClock::Default().Now() - start).count());
      if (conn->in_transaction()) {
        // A task that left a transaction open: roll it back, never leak it
        // into the next task.
        (void)conn->Script("ROLLBACK");
        broken->Inc();
      } else if (!conn->healthy()) {
        broken->Inc();
      } else {
        ok->Inc();
      }
    }
    if (conn) connections->Add(-1);
  }
};

StatusOr<std::unique_ptr<Pool>> Pool::Create(Options options, obs::Registry& registry) {
  if (Status s = ValidateOptions(options); !s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  const std::string& name = options.name;
  auto& tasks = registry.AddCounter(
      "keel_pg_tasks_total",
      "PostgreSQL pool tasks by outcome: ok, broken (left its connection unusable or a "
      "transaction open), no_connection (ran with Unavailable), rejected (queue full).",
      {"pool", "outcome"});
  impl->ok = tasks.Get({name, "ok"});
  impl->broken = tasks.Get({name, "broken"});
  impl->no_connection = tasks.Get({name, "no_connection"});
  impl->rejected = tasks.Get({name, "rejected"});
  impl->connect_errors =
      registry.AddCounter("keel_pg_connect_errors_total", "PostgreSQL connects that failed.", {"pool"})
          .Get({name});
  impl->retries = registry
                      .AddCounter("keel_pg_retries_total",
                                  "Transactions run again after a serialization failure or deadlock.",
                                  {"pool"})
                      .Get({name});
  impl->duration = registry
                       .AddHistogram("keel_pg_task_duration_seconds",
                                     "Time a pool task held its connection.", {"pool"})
                       .Get({name});
  impl->depth = registry.AddGauge("keel_pg_queue_depth", "Tasks waiting for a pool worker.", {"pool"})
                    .Get({name});
  impl->connections =
      registry.AddGauge("keel_pg_connections", "PostgreSQL connections open.", {"pool"}).Get({name});
  impl->options = std::move(options);
  Impl* raw = impl.get();
  for (std::size_t i = 0; i < raw->options.pool_size; ++i) {
    raw->workers.emplace_back([raw] { raw->Work(); });
  }
  return std::unique_ptr<Pool>(new Pool(std::move(impl)));
}

Pool::Pool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pool::~Pool() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->workers) t.join();
}

Status Pool::Submit(Task task) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return Unavailable("postgres pool is shutting down");
    if (impl_->queue.size() >= impl_->options.max_queue) {
      impl_->rejected->Inc();
      return ResourceExhausted("postgres pool " + impl_->options.name + ": " +
                               std::to_string(impl_->options.max_queue) + " tasks already waiting");
    }
    impl_->queue.push_back(std::move(task));
    impl_->depth->Set(static_cast<double>(impl_->queue.size()));
  }
  impl_->cv.notify_one();
  return Status::Ok();
}

void Pool::RunAndWait(const Task& task) {
  std::promise<void> done;
  auto finished = done.get_future();
  Status queued = Submit([&](StatusOr<Connection*> c) {
    task(std::move(c));
    done.set_value();
  });
  if (!queued.ok()) {
    task(queued);
    return;
  }
  finished.wait();
}

Status Pool::Call(const std::function<Status(Connection&)>& fn) {
  Status out = Internal("pg: task did not run");
  RunAndWait([&](StatusOr<Connection*> c) { out = c.ok() ? fn(**c) : c.status(); });
  return out;
}

obs::Counter* Pool::retries() const { return impl_->retries; }
const Options& Pool::options() const { return impl_->options; }

}  // namespace keel::pg
