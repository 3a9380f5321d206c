#include "keel/pg/pg.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "pg_env.h"

namespace keel::pg {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Connection> Open(const std::string& url, Duration statement_timeout = 5s) {
  Options o{.url = url, .statement_timeout = statement_timeout};
  auto c = Connection::Open(o);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(*c) : nullptr;
}

TEST(PgOptions, RejectsBadValues) {
  EXPECT_EQ(ValidateOptions({}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateOptions({.url = "postgresql://x", .pool_size = 0}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateOptions({.url = "postgresql://x", .connect_timeout = 100ms}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateOptions({.url = "postgresql://x"}).ok());
}

TEST(PgConnection, ExecWithParamsNullsAndAffectedRows) {
  auto c = Open(FreshDatabase());
  ASSERT_NE(c, nullptr);
  EXPECT_GE(c->server_version(), 150000);
  ASSERT_TRUE(c->Script("CREATE TABLE t (id bigint PRIMARY KEY, name text, ok boolean)").ok());
  auto ins = c->Exec("INSERT INTO t VALUES ($1, $2, $3), ($4, $5, $6)",
                     {"1", "one", "true", "2", std::nullopt, "false"});
  ASSERT_TRUE(ins.ok()) << ins.status().message();
  EXPECT_EQ(ins->affected(), 2);
  auto r = c->Exec("SELECT id, name, ok FROM t ORDER BY id");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rows(), 2);
  EXPECT_EQ(r->columns(), 3);
  EXPECT_EQ(r->column("name"), 1);
  EXPECT_EQ(r->column("nope"), -1);
  EXPECT_EQ(r->int64(0, 0), 1);
  EXPECT_EQ(r->text(0, 1), "one");
  EXPECT_TRUE(r->boolean(0, 2));
  EXPECT_TRUE(r->null(1, 1));
  EXPECT_EQ(r->opt(1, 1), std::nullopt);
  EXPECT_FALSE(r->boolean(1, 2));
  // Out of range reads are NULL, not a crash.
  EXPECT_TRUE(r->null(5, 0));
  EXPECT_EQ(r->text(0, 9), "");
  // Text with quotes and non-ASCII goes through parameters untouched.
  const std::string tricky = "it's \"quoted\" ; DROP TABLE t; -- ü";
  ASSERT_TRUE(c->Exec("UPDATE t SET name = $1 WHERE id = 2", {tricky}).ok());
  EXPECT_EQ(c->Exec("SELECT name FROM t WHERE id = 2")->str(0, 0), tricky);
}

TEST(PgConnection, ErrorsCarrySqlStateAndCode) {
  auto c = Open(FreshDatabase());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Script("CREATE TABLE u (k text PRIMARY KEY, n int CHECK (n >= 0))").ok());
  ASSERT_TRUE(c->Exec("INSERT INTO u VALUES ('a', 1)").ok());
  auto dup = c->Exec("INSERT INTO u VALUES ('a', 2)");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(SqlState(dup.status()), "23505");
  auto check = c->Exec("UPDATE u SET n = -1");
  EXPECT_EQ(check.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(SqlState(check.status()), "23514");
  auto syntax = c->Exec("SELEC 1");
  EXPECT_EQ(syntax.status().code(), StatusCode::kInternal);
  EXPECT_EQ(SqlState(syntax.status()), "42601");
  EXPECT_EQ(SqlState(Unavailable("no state here")), "");
  // The connection is still usable after errors outside a transaction.
  EXPECT_TRUE(c->healthy());
  EXPECT_TRUE(c->Exec("SELECT 1").ok());
}

TEST(PgConnection, StatementTimeoutIsUnavailable) {
  auto c = Open(FreshDatabase(), 100ms);
  ASSERT_NE(c, nullptr);
  auto r = c->Exec("SELECT pg_sleep(5)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(SqlState(r.status()), "57014");
  EXPECT_TRUE(c->Exec("SELECT 1").ok());
}

TEST(PgConnection, ConnectToNothingIsUnavailable) {
  // A port nobody listens on: the server's, after it is known to be closed.
  Options o{.url = "postgresql://keel@127.0.0.1:1/postgres"};
  auto c = Connection::Open(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("postgres connect"), std::string::npos);
}

TEST(PgConnection, SearchPathSelectsTheSchema) {
  const std::string url = FreshDatabase();
  auto admin = Open(url);
  ASSERT_NE(admin, nullptr);
  ASSERT_TRUE(admin->Script("CREATE SCHEMA svc; CREATE TABLE svc.items (n int); INSERT INTO svc.items VALUES (7)").ok());
  Options o{.url = url, .search_path = "svc"};
  auto c = Connection::Open(o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ((*c)->Exec("SELECT n FROM items")->int64(0, 0), 7);
}

TEST(PgListen, NotificationsArriveAndTimeoutsReturnEmpty) {
  const std::string url = FreshDatabase();
  auto listener = Open(url);
  auto sender = Open(url);
  ASSERT_TRUE(listener && sender);
  ASSERT_TRUE(listener->Listen("outbox").ok());
  auto none = listener->Wait(50ms);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(sender->Exec("SELECT pg_notify('outbox', $1)", {"42"}).ok());
  auto got = listener->Wait(5s);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].channel, "outbox");
  EXPECT_EQ((*got)[0].payload, "42");
  EXPECT_EQ((*got)[0].backend_pid, sender->backend_pid());
  // Only committed transactions notify.
  ASSERT_TRUE(sender->Script("BEGIN; SELECT pg_notify('outbox', 'no'); ROLLBACK").ok());
  EXPECT_TRUE(listener->Wait(100ms)->empty());
}

TEST(PgListen, ABrokenConnectionIsUnavailable) {
  const std::string url = FreshDatabase();
  auto listener = Open(url);
  auto admin = Open(url);
  ASSERT_TRUE(listener && admin);
  ASSERT_TRUE(listener->Listen("x").ok());
  ASSERT_TRUE(admin->Exec("SELECT pg_terminate_backend($1)", {std::to_string(listener->backend_pid())}).ok());
  StatusOr<std::vector<Notification>> r = std::vector<Notification>{};
  for (int i = 0; i < 50 && r.ok(); ++i) r = listener->Wait(100ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(listener->healthy());
}

TEST(PgTransact, CommitsAndRollsBack) {
  auto c = Open(FreshDatabase());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Script("CREATE TABLE a (n int)").ok());
  EXPECT_TRUE(Transact(*c, {}, [](Connection& tx) {
                return tx.Exec("INSERT INTO a VALUES (1)").status();
              }).ok());
  Status failed = Transact(*c, {}, [](Connection& tx) -> Status {
    if (auto r = tx.Exec("INSERT INTO a VALUES (2)"); !r.ok()) return r.status();
    return FailedPrecondition("changed my mind");
  });
  EXPECT_EQ(failed.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(c->in_transaction());
  // A failing statement inside: rolled back, the error returned.
  Status bad = Transact(*c, {}, [](Connection& tx) -> Status {
    (void)tx.Exec("INSERT INTO a VALUES (3)");
    return tx.Exec("INSERT INTO a VALUES ('x')").status();
  });
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(c->in_transaction());
  EXPECT_EQ(c->Exec("SELECT string_agg(n::text, ',') FROM a")->str(0, 0), "1");
}

TEST(PgTransact, RetriesASerializationFailure) {
  const std::string url = FreshDatabase();
  auto c = Open(url);
  auto other = Open(url);
  ASSERT_TRUE(c && other);
  ASSERT_TRUE(c->Script("CREATE TABLE stock (sku text PRIMARY KEY, n int); INSERT INTO stock VALUES ('A', 10)").ok());
  obs::Registry registry;
  auto& retries = registry.AddCounter("retries_total", "test");
  int attempts = 0;
  Status s = Transact(
      *c, {.isolation = Isolation::kSerializable, .max_attempts = 3},
      [&](Connection& tx) -> Status {
        ++attempts;
        auto n = tx.Exec("SELECT n FROM stock WHERE sku = 'A'");
        if (!n.ok()) return n.status();
        if (attempts == 1) {
          // Someone else changes the row after this transaction read it.
          EXPECT_TRUE(other->Exec("UPDATE stock SET n = n - 1 WHERE sku = 'A'").ok());
        }
        return tx.Exec("UPDATE stock SET n = $1 WHERE sku = 'A'", {std::to_string(n->int64(0, 0) - 2)})
            .status();
      },
      retries.Get({}));
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(retries.Get({})->Value(), 1u);
  // Both decrements count: 10 - 1 - 2.
  EXPECT_EQ(c->Exec("SELECT n FROM stock")->int64(0, 0), 7);
}

TEST(PgTransact, GivesUpAfterMaxAttempts) {
  const std::string url = FreshDatabase();
  auto c = Open(url);
  auto other = Open(url);
  ASSERT_TRUE(c && other);
  ASSERT_TRUE(c->Script("CREATE TABLE s (n int); INSERT INTO s VALUES (0)").ok());
  int attempts = 0;
  Status s = Transact(*c, {.isolation = Isolation::kSerializable, .max_attempts = 2},
                      [&](Connection& tx) -> Status {
                        ++attempts;
                        if (auto r = tx.Exec("SELECT n FROM s"); !r.ok()) return r.status();
                        EXPECT_TRUE(other->Exec("UPDATE s SET n = n + 1").ok());
                        return tx.Exec("UPDATE s SET n = n + 10").status();
                      });
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_EQ(SqlState(s), "40001");
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(c->Exec("SELECT n FROM s")->int64(0, 0), 2);
}

TEST(PgPool, RunsTasksOnItsOwnConnections) {
  obs::Registry registry;
  auto pool = Pool::Create({.url = FreshDatabase(), .name = "t", .pool_size = 3}, registry);
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  std::mutex mu;
  std::set<int> pids;
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE((*pool)
                    ->Submit([&](StatusOr<Connection*> c) {
                      ASSERT_TRUE(c.ok()) << c.status().message();
                      // Sleep so the three workers are all busy at once.
                      EXPECT_TRUE((*c)->Exec("SELECT pg_sleep(0.1)").ok());
                      {
                        std::lock_guard lock(mu);
                        pids.insert((*c)->backend_pid());
                      }
                      if (++done == 6) all.set_value();
                    })
                    .ok());
  }
  all.get_future().wait();
  EXPECT_EQ(pids.size(), 3u);
  auto sum = (*pool)->Call<std::int64_t>([](Connection& c) -> StatusOr<std::int64_t> {
    auto r = c.Exec("SELECT 40 + 2");
    if (!r.ok()) return r.status();
    return r->int64(0, 0);
  });
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(*sum, 42);
  // The worker counts a task after it returns, which may be just after
  // Call's caller woke up.
  obs::Counter* ok = registry.AddCounter("keel_pg_tasks_total", "", {"pool", "outcome"}).Get({"t", "ok"});
  for (int i = 0; i < 100 && ok->Value() < 7; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(ok->Value(), 7u);
  const std::string text = registry.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_NE(text.find("keel_pg_connections{pool=\"t\"} 3"), std::string::npos) << text;
}

TEST(PgPool, AFullQueueRejects) {
  obs::Registry registry;
  auto pool = Pool::Create({.url = FreshDatabase(), .pool_size = 1, .max_queue = 2}, registry);
  ASSERT_TRUE(pool.ok());
  std::promise<void> release, started;
  auto gate = release.get_future().share();
  ASSERT_TRUE((*pool)->Submit([&, gate](StatusOr<Connection*>) {
                       started.set_value();
                       gate.wait();
                     }).ok());
  started.get_future().wait();
  std::atomic<int> ran{0};
  EXPECT_TRUE((*pool)->Submit([&](StatusOr<Connection*>) { ++ran; }).ok());
  EXPECT_TRUE((*pool)->Submit([&](StatusOr<Connection*>) { ++ran; }).ok());
  Status third = (*pool)->Submit([&](StatusOr<Connection*>) { ++ran; });
  EXPECT_EQ(third.code(), StatusCode::kResourceExhausted);
  release.set_value();
  pool->reset();  // runs what was queued, then joins
  EXPECT_EQ(ran.load(), 2);
}

TEST(PgPool, ReconnectsAfterItsBackendIsKilledAndRollsBackLeakedTransactions) {
  const std::string url = FreshDatabase();
  obs::Registry registry;
  auto pool = Pool::Create({.url = url, .pool_size = 1, .reconnect_backoff_min = 1ms,
                            .reconnect_backoff_max = 5ms},
                           registry);
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE((*pool)->Call([](Connection& c) { return c.Script("CREATE TABLE l (n int)"); }).ok());
  // A task that forgets its transaction: the pool rolls it back.
  ASSERT_TRUE((*pool)->Call([](Connection& c) { return c.Script("BEGIN; INSERT INTO l VALUES (1)"); }).ok());
  auto count = [&] {
    return (*pool)->Call<std::int64_t>([](Connection& c) -> StatusOr<std::int64_t> {
      auto r = c.Exec("SELECT count(*) FROM l");
      if (!r.ok()) return r.status();
      return r->int64(0, 0);
    });
  };
  EXPECT_EQ(*count(), 0);
  auto pid = (*pool)->Call<int>([](Connection& c) -> StatusOr<int> { return c.backend_pid(); });
  auto admin = Open(url);
  ASSERT_TRUE(admin->Exec("SELECT pg_terminate_backend($1)", {std::to_string(*pid)}).ok());
  // The first task after the kill may see the broken connection; within a
  // few the worker has reconnected.
  StatusOr<std::int64_t> after = Unavailable("not tried");
  for (int i = 0; i < 20 && !after.ok(); ++i) {
    after = count();
    if (!after.ok()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(after.ok()) << after.status().message();
  auto pid2 = (*pool)->Call<int>([](Connection& c) -> StatusOr<int> { return c.backend_pid(); });
  EXPECT_NE(*pid, *pid2);
}

// A failover leaves idle workers holding connections to the dead server;
// the pool must notice before the next task, not fail it.
TEST(PgPool, ReplacesAConnectionTheServerClosedWhileIdleBeforeTheNextTask) {
  const std::string url = FreshDatabase();
  obs::Registry registry;
  auto pool = Pool::Create({.url = url, .pool_size = 1}, registry);
  ASSERT_TRUE(pool.ok());
  auto backend_pid = [&] {
    return (*pool)->Call<int>([](Connection& c) -> StatusOr<int> {
      auto r = c.Exec("SELECT pg_backend_pid()");
      if (!r.ok()) return r.status();
      return static_cast<int>(r->int64(0, 0));
    });
  };
  auto pid = backend_pid();
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  auto admin = Open(url);
  ASSERT_TRUE(admin->Exec("SELECT pg_terminate_backend($1, 5000)", {std::to_string(*pid)}).ok());

  auto pid2 = backend_pid();  // the very next task
  ASSERT_TRUE(pid2.ok()) << pid2.status().message();
  EXPECT_NE(*pid, *pid2);
  auto& tasks = registry.AddCounter("keel_pg_tasks_total", "", {"pool", "outcome"});
  EXPECT_EQ(tasks.Get({"db", "broken"})->Value(), 0u);
  EXPECT_EQ(tasks.Get({"db", "ok"})->Value(), 2u);
}

TEST(PgConnection, ProbeSeesAClosedConnectionAndKeepsNotifications) {
  const std::string url = FreshDatabase();
  auto c = Open(url);
  auto admin = Open(url);
  ASSERT_TRUE(c->Listen("ch").ok());
  ASSERT_TRUE(admin->Script("NOTIFY ch, 'hi'").ok());
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(c->Probe());  // reads the notification
  auto n = c->Wait(0ms);    // and Wait still gets it
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n->size(), 1u);
  EXPECT_EQ((*n)[0].payload, "hi");
  ASSERT_TRUE(admin->Exec("SELECT pg_terminate_backend($1, 5000)", {std::to_string(c->backend_pid())}).ok());
  EXPECT_FALSE(c->Probe());
  EXPECT_FALSE(c->healthy());
}

TEST(PgPool, AServerThatIsDownFailsTasksFast) {
  obs::Registry registry;
  auto pool = Pool::Create({.url = "postgresql://keel@127.0.0.1:1/postgres", .pool_size = 1}, registry);
  ASSERT_TRUE(pool.ok());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    Status s = (*pool)->Call([](Connection&) { return Status::Ok(); });
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  }
  // Reconnects are spaced by the backoff, not tried per task.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(registry.AddCounter("keel_pg_tasks_total", "", {"pool", "outcome"})
                .Get({"db", "no_connection"})
                ->Value(),
            20u);
}

TEST(PgServer, CrashRecoveryKeepsCommittedRows) {
  const std::string url = FreshDatabase();
  {
    auto c = Open(url);
    ASSERT_TRUE(c->Script("CREATE TABLE d (n int); INSERT INTO d VALUES (1), (2)").ok());
  }
  ASSERT_TRUE(g_server->Crash().ok());
  auto c = Open(url);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Exec("SELECT sum(n) FROM d")->int64(0, 0), 3);
}

}  // namespace
}  // namespace keel::pg
