// keel::pg — PostgreSQL through libpq: a connection, results, transactions
// with retry, LISTEN/NOTIFY, and a pool of worker threads that each own one
// connection (docs/adr/0021-postgres-blocking-pool.md says why blocking
// workers and not libpq's async API on the event loop).
//
//   pg::Options options{.url = "postgresql://keel@127.0.0.1:5432/shop", .pool_size = 4};
//   auto pool = pg::Pool::Create(options, obs::DefaultRegistry());
//   // from an HTTP handler: the task runs on a pool thread; post the answer back.
//   (*pool)->Submit([](StatusOr<pg::Connection*> c) {
//     if (!c.ok()) return reply(c.status());
//     Status s = pg::Transact(**c, {}, [&](pg::Connection& tx) -> Status {
//       auto r = tx.Exec("UPDATE stock SET on_hand = on_hand - $1 WHERE sku = $2",
//                        {std::to_string(qty), sku});
//       return r.ok() ? Status::Ok() : r.status();
//     });
//     reply(s);
//   });
//
// Errors: a failed statement is a Status whose message starts with
// "SQLSTATE xxxxx: " (SqlState() extracts it). Codes: 23505 unique_violation
// → kAlreadyExists; 40001/40P01 (serialization failure, deadlock) → kAborted
// (Transact retries them); 57014 statement timeout → kUnavailable; other
// constraint and data errors (class 22, 23) → kFailedPrecondition; a lost
// connection → kUnavailable (the next task on that worker reconnects).
//
// Thread-safety: a Connection is used by one thread at a time. Pool::Submit
// and Pool::Call are thread-safe; a task runs on one of the pool's threads
// with that thread's connection and must not keep it after returning.
//
// Metrics (label pool=Options::name): keel_pg_tasks_total{outcome},
// keel_pg_task_duration_seconds, keel_pg_queue_depth, keel_pg_connections,
// keel_pg_connect_errors_total, keel_pg_retries_total.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/obs/metrics.h"

struct pg_conn;
struct pg_result;

namespace keel::pg {

struct Options {
  std::string url;          // postgres.url: a libpq URI or key=value conninfo
  std::string name = "db";  // the metrics' pool label
  std::size_t pool_size = 4;                                 // connections = worker threads, >= 1
  Duration connect_timeout = std::chrono::seconds(2);        // >= 1 s (libpq counts whole seconds)
  Duration statement_timeout = std::chrono::seconds(5);      // per statement; 0 = none
  std::size_t max_queue = 1024;                              // tasks waiting for a worker
  std::string application_name = "keel";
  std::string search_path;  // e.g. the service's schema; empty: the server's default
  Duration reconnect_backoff_min = std::chrono::milliseconds(50);
  Duration reconnect_backoff_max = std::chrono::seconds(2);
};

// Checks options (url set, sizes, timeouts); OK or InvalidArgument.
Status ValidateOptions(const Options& options);

// The SQLSTATE a failed statement carried ("23505"), or "" for other errors.
std::string SqlState(const Status& status);

// A statement's parameter: text, or NULL.
using Param = std::optional<std::string>;

// The rows of one statement. Cheap to copy (shared).
class Result {
 public:
  Result() = default;
  int rows() const;
  int columns() const;
  // Column index by name; -1 when there is none.
  int column(std::string_view name) const;
  bool null(int row, int col) const;
  std::string_view text(int row, int col) const;  // "" for NULL
  std::string str(int row, int col) const { return std::string(text(row, col)); }
  std::optional<std::string> opt(int row, int col) const;
  std::int64_t int64(int row, int col) const;  // 0 for NULL or not a number
  bool boolean(int row, int col) const;        // "t"
  // Rows the statement touched (INSERT/UPDATE/DELETE), from the command tag.
  std::int64_t affected() const;

 private:
  friend class Connection;
  explicit Result(std::shared_ptr<pg_result> r) : r_(std::move(r)) {}
  std::shared_ptr<pg_result> r_;
};

struct Notification {
  std::string channel;
  std::string payload;
  int backend_pid = 0;
};

class Connection {
 public:
  // Connects (blocking, up to connect_timeout) and applies statement_timeout,
  // application_name and search_path.
  static StatusOr<std::unique_ptr<Connection>> Open(const Options& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement, parameters as $1, $2, ... (text format).
  StatusOr<Result> Exec(std::string_view sql, const std::vector<Param>& params = {});
  // Several statements without parameters (a migration script), in one call.
  Status Script(std::string_view sql);

  // LISTEN channel (an identifier; quoted here).
  Status Listen(std::string_view channel);
  // The notifications that arrive within `timeout` (returns as soon as one
  // does; empty on timeout). Unavailable when the connection broke.
  StatusOr<std::vector<Notification>> Wait(Duration timeout);

  // True while the connection is usable and not inside a failed transaction.
  bool healthy() const;
  // Reads, without waiting, what the server sent while the connection sat
  // idle, so that a connection the server closed (backend terminated,
  // server crashed or shut down, a failover) is seen as broken before a
  // task uses it: libpq notices a closed socket only when it next reads.
  // Returns healthy().
  bool Probe();
  bool in_transaction() const;
  int server_version() const;  // e.g. 150018
  int backend_pid() const;

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  Status ErrorFrom(const pg_result* r, std::string_view sql) const;
  std::vector<Notification> Drain();
  Status Lost() const;  // Unavailable "postgres connection lost: <libpq's reason>"
  pg_conn* conn_;
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  Isolation isolation = Isolation::kReadCommitted;
  int max_attempts = 3;  // serialization failures and deadlocks are retried
  Duration backoff_base = std::chrono::milliseconds(5);  // full jitter, doubling
};

// BEGIN; fn; COMMIT — ROLLBACK when fn fails or the commit does. A kAborted
// outcome (serialization failure, deadlock: the transaction did nothing) is
// retried up to max_attempts with full-jitter backoff; fn must therefore be
// safe to run again (keep side effects other than SQL out of it).
// `retries`, when given, is incremented once per retry.
Status Transact(Connection& conn, const TxOptions& options,
                const std::function<Status(Connection&)>& fn, obs::Counter* retries = nullptr);

class Pool {
 public:
  using Task = std::function<void(StatusOr<Connection*>)>;

  // Starts pool_size workers; each connects lazily (at its first task) and
  // reconnects after a lost connection with backoff. Does not wait for the
  // server: a task that finds it down gets Unavailable.
  static StatusOr<std::unique_ptr<Pool>> Create(Options options, obs::Registry& registry);
  // Runs the tasks already queued (with their connection, or Unavailable),
  // then joins the workers.
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Queues `task`; ResourceExhausted (task not run) when max_queue tasks are
  // waiting. The task gets its worker's connection, or why there is none.
  Status Submit(Task task);

  // Runs fn on a worker and waits for it: for CLIs, startup and tests.
  template <class T>
  StatusOr<T> Call(const std::function<StatusOr<T>(Connection&)>& fn) {
    StatusOr<T> out = Internal("pg: task did not run");
    RunAndWait([&](StatusOr<Connection*> c) { out = c.ok() ? fn(**c) : StatusOr<T>(c.status()); });
    return out;
  }
  Status Call(const std::function<Status(Connection&)>& fn);

  // Retries counter for Transact (keel_pg_retries_total of this pool).
  obs::Counter* retries() const;
  const Options& options() const;

 private:
  struct Impl;
  explicit Pool(std::unique_ptr<Impl> impl);
  void RunAndWait(const Task& task);
  std::unique_ptr<Impl> impl_;
};

// Quotes an identifier for SQL ("my schema" → "\"my schema\"").
std::string QuoteIdentifier(std::string_view name);

}  // namespace keel::pg
