#include "keel/kit/inbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "keel/kit/kit.h"
#include "keel/outbox/testing/servers_env.h"
#include "keel/outbox/outbox.h"

namespace keel::kit {
namespace {

using namespace std::chrono_literals;

using outbox::testing::g_nats;
using outbox::testing::g_pg;

std::string Event(const std::string& id, int n) {
  return R"({"specversion":"1.0","id":")" + id + R"(","source":"/t","type":"t.add","data":{"n":)" +
         std::to_string(n) + "}}";
}

struct InboxTest : ::testing::Test {
  void SetUp() override {
    static std::atomic<int> seq{0};
    const int i = ++seq;
    auto url = g_pg->CreateDatabase("inbox" + std::to_string(i));
    ASSERT_TRUE(url.ok());
    options.url = *url;
    auto c = pg::Connection::Open(options);
    ASSERT_TRUE(c.ok());
    conn = std::move(*c);
    ASSERT_TRUE(pg::Migrate(*conn, "svc", {InboxMigration(1), {2, "sum", "CREATE TABLE total (n bigint);"
                                                                        "INSERT INTO total VALUES (0);"}})
                    .ok());
    auto nc = nats::Client::Connect({.url = g_nats->url()}, registry);
    ASSERT_TRUE(nc.ok()) << nc.status().message();
    client = std::move(*nc);
    stream = "IN" + std::to_string(i);
    subject = "in" + std::to_string(i);
    ASSERT_TRUE(client->EnsureStream({.name = stream, .subjects = {subject + ".>"}}).ok());
  }

  Inbox::Options InboxOptions() {
    return {.postgres = options, .schema = "svc", .stream = stream, .durable = "svc",
            .filter_subject = subject + ".cmd", .dlq_prefix = subject + ".dlq.", .max_deliver = 3,
            .retry_base = 10ms, .retry_cap = 50ms};
  }

  // Adds data.n to svc.total, in the inbox's transaction.
  static Status Add(const Delivery& d, const Inbox::Commit& commit) {
    return commit([&](pg::Connection& tx) -> Status {
      auto r = tx.Exec("UPDATE svc.total SET n = n + $1", {std::to_string(d.data["n"].get<int>())});
      return r.ok() ? Status::Ok() : r.status();
    });
  }

  std::int64_t Total() { return conn->Exec("SELECT n FROM svc.total")->int64(0, 0); }

  template <class F>
  bool Eventually(F f, Duration timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (f()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return f();
  }

  std::uint64_t DlqCount() {
    auto s = client->Stream(stream);
    if (!s.ok()) return 0;
    std::uint64_t n = 0;
    for (std::uint64_t q = s->first_sequence; q <= s->last_sequence && q > 0; ++q) {
      auto m = client->GetMessage(stream, q);
      if (m.ok() && m->subject == subject + ".dlq.svc") ++n;
    }
    return n;
  }

  obs::Registry registry;
  pg::Options options;
  std::unique_ptr<pg::Connection> conn;
  std::unique_ptr<nats::Client> client;
  std::string stream, subject;
};

TEST_F(InboxTest, ARedeliveredEventChangesNothing) {
  auto inbox = Inbox::Start(InboxOptions(), *client, registry, Add);
  ASSERT_TRUE(inbox.ok()) << inbox.status().message();
  // The same event id three times (a relay re-publish past the broker's
  // de-duplication window looks like this), then another.
  for (const char* msg_id : {"a", "b", "c"}) {
    ASSERT_TRUE(client->Publish(subject + ".cmd", Event("e1", 5), msg_id).ok());
  }
  ASSERT_TRUE(client->Publish(subject + ".cmd", Event("e2", 7)).ok());
  ASSERT_TRUE(Eventually([&] { return Total() == 12; })) << Total();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Total(), 12);
  EXPECT_EQ((*inbox)->processed(), 2u);
  const std::string text = registry.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_NE(text.find(R"(keel_inbox_messages_total{consumer="svc",outcome="duplicate"} 2)"), std::string::npos)
      << text;
  EXPECT_EQ(conn->Exec("SELECT count(*) FROM svc.inbox")->int64(0, 0), 2);
}

TEST_F(InboxTest, TransientFailuresAreRetriedThenDeadLettered) {
  std::atomic<int> calls{0};
  auto inbox = Inbox::Start(InboxOptions(), *client, registry,
                            [&](const Delivery& d, const Inbox::Commit& commit) -> Status {
                              ++calls;
                              if (d.data["n"].get<int>() == 1 && d.delivered < 2) return Unavailable("flaky");
                              if (d.data["n"].get<int>() == 2) return Unavailable("down for good");
                              return Add(d, commit);
                            });
  ASSERT_TRUE(inbox.ok());
  ASSERT_TRUE(client->Publish(subject + ".cmd", Event("flaky", 1)).ok());
  ASSERT_TRUE(client->Publish(subject + ".cmd", Event("down", 2)).ok());
  ASSERT_TRUE(Eventually([&] { return Total() == 1 && DlqCount() == 1; })) << Total() << " " << DlqCount();
  // "flaky" twice, "down" max_deliver (3) times.
  EXPECT_EQ(calls.load(), 5);
  auto s = client->Stream(stream);
  ASSERT_TRUE(s.ok());
  auto dead = client->GetMessage(stream, s->last_sequence);
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ(dead->subject, subject + ".dlq.svc");
  EXPECT_EQ(dead->headers["Keel-Dlq-Subject"], subject + ".cmd");
  EXPECT_EQ(dead->headers["Keel-Dlq-Error"], "down for good");
  EXPECT_EQ(dead->headers["Keel-Dlq-Delivered"], "3");
  EXPECT_EQ(dead->data, Event("down", 2));
}

TEST_F(InboxTest, MessagesWaitOutTheirDatabaseInsteadOfDyingInTheDlq) {
  auto inbox = Inbox::Start(InboxOptions(), *client, registry, Add);
  ASSERT_TRUE(inbox.ok());
  ASSERT_TRUE(client->Publish(subject + ".cmd", Event("before", 1)).ok());
  ASSERT_TRUE(Eventually([&] { return Total() == 1; }));
  conn.reset();
  g_pg->Stop();
  ASSERT_TRUE(client->Publish(subject + ".cmd", Event("during1", 10)).ok());
  ASSERT_TRUE(client->Publish(subject + ".cmd", Event("during2", 100)).ok());
  // max_deliver 3 with 10-50 ms backoff: without the hold both would be
  // dead-lettered well within this second.
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(g_pg->Resume().ok());
  auto c = pg::Connection::Open(options);
  ASSERT_TRUE(c.ok()) << c.status().message();
  conn = std::move(*c);
  ASSERT_TRUE(Eventually([&] { return Total() == 111; })) << Total();
  EXPECT_EQ(DlqCount(), 0u);
  const std::string text = registry.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_EQ(text.find(R"(outcome="dead_lettered"} 1)"), std::string::npos) << text;
  EXPECT_EQ(text.find(R"(keel_inbox_messages_total{consumer="svc",outcome="database_wait"} 0)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(keel_inbox_messages_total{consumer="svc",outcome="processed"} 3)"), std::string::npos)
      << text;
}

TEST_F(InboxTest, WorkersKeepEachAggregatesOrderAndRunOthersInParallel) {
  ASSERT_TRUE(conn->Script("CREATE TABLE svc.seen (agg text, n int, PRIMARY KEY (agg, n))").ok());
  std::mutex mu;
  std::set<std::thread::id> threads;
  Inbox::Options o = InboxOptions();
  o.workers = 4;
  auto inbox = Inbox::Start(o, *client, registry, [&](const Delivery& d, const Inbox::Commit& commit) -> Status {
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(1ms);  // long enough for others to overlap
    return commit([&](pg::Connection& tx) -> Status {
      const std::string agg = d.data["agg"].get<std::string>();
      const int n = d.data["n"].get<int>();
      auto last = tx.Exec("SELECT coalesce(max(n), 0) FROM svc.seen WHERE agg = $1", {agg});
      if (!last.ok()) return last.status();
      if (last->int64(0, 0) != n - 1) {
        return FailedPrecondition(agg + ": " + std::to_string(n) + " after " + std::to_string(last->int64(0, 0)));
      }
      auto r = tx.Exec("INSERT INTO svc.seen VALUES ($1, $2)", {agg, std::to_string(n)});
      return r.ok() ? Status::Ok() : r.status();
    });
  });
  ASSERT_TRUE(inbox.ok()) << inbox.status().message();
  constexpr int kAggs = 8, kEach = 25;
  for (int n = 1; n <= kEach; ++n) {
    for (int a = 0; a < kAggs; ++a) {
      const std::string agg = "ord_" + std::to_string(a);
      const std::string ev = R"({"specversion":"1.0","id":")" + agg + "-" + std::to_string(n) +
                             R"(","source":"/t","type":"t.step","subject":")" + agg + R"(","data":{"agg":")" + agg +
                             R"(","n":)" + std::to_string(n) + "}}";
      ASSERT_TRUE(client->Publish(subject + ".cmd", ev).ok());
    }
  }
  ASSERT_TRUE(Eventually([&] { return (*inbox)->processed() == kAggs * kEach; }, 30s)) << (*inbox)->processed();
  EXPECT_EQ(DlqCount(), 0u);  // no message out of its aggregate's order
  EXPECT_EQ(conn->Exec("SELECT count(*) FROM svc.seen")->int64(0, 0), kAggs * kEach);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_GT(threads.size(), 1u);
}

TEST_F(InboxTest, PoisonGoesStraightToTheDeadLetterStream) {
  std::atomic<int> calls{0};
  auto inbox = Inbox::Start(InboxOptions(), *client, registry,
                            [&](const Delivery&, const Inbox::Commit&) -> Status {
                              ++calls;
                              return InvalidArgument("unknown sku");
                            });
  ASSERT_TRUE(inbox.ok());
  ASSERT_TRUE(client->Publish(subject + ".cmd", "not json").ok());
  ASSERT_TRUE(client->Publish(subject + ".cmd", Event("bad", 1)).ok());
  ASSERT_TRUE(Eventually([&] { return DlqCount() == 2; })) << DlqCount();
  EXPECT_EQ(calls.load(), 1);  // the non-CloudEvent never reached the handler
}

TEST_F(InboxTest, AFailedCommitRollsBackTheEffectAndTheRecord) {
  std::atomic<int> calls{0};
  auto inbox = Inbox::Start(InboxOptions(), *client, registry,
                            [&](const Delivery& d, const Inbox::Commit& commit) -> Status {
                              const bool fail = ++calls == 1;
                              return commit([&](pg::Connection& tx) -> Status {
                                if (Status s = Add(d, [&](const auto& fn) { return fn(tx); }); !s.ok()) return s;
                                return fail ? Unavailable("crash after the effect") : Status::Ok();
                              });
                            });
  ASSERT_TRUE(inbox.ok());
  ASSERT_TRUE(client->Publish(subject + ".cmd", Event("once", 4)).ok());
  ASSERT_TRUE(Eventually([&] { return Total() == 4 && calls.load() == 2; })) << Total();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Total(), 4);
}

TEST_F(InboxTest, TheOutboxRelayAndTheInboxCarryEventsEndToEnd) {
  ASSERT_TRUE(pg::Migrate(*conn, "svc", {InboxMigration(1), {2, "sum", "CREATE TABLE total (n bigint);"
                                                                      "INSERT INTO total VALUES (0);"},
                                         outbox::TableMigration(3)})
                  .ok());
  auto relay = outbox::Relay::Start({.postgres = options, .schema = "svc"}, *client, registry);
  ASSERT_TRUE(relay.ok());
  auto inbox = Inbox::Start(InboxOptions(), *client, registry, Add);
  ASSERT_TRUE(inbox.ok());
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(pg::Transact(*conn, {}, [&](pg::Connection& tx) -> Status {
                  auto id = outbox::Append(tx, "svc", {.type = "t.add", .subject = subject + ".cmd",
                                                       .aggregate_id = "a", .data = "{\"n\":" + std::to_string(i) + "}"});
                  return id.ok() ? Status::Ok() : id.status();
                }).ok());
  }
  ASSERT_TRUE(Eventually([&] { return Total() == 55; })) << Total();
}

TEST(Periodic, RunsEveryIntervalAndStops) {
  std::atomic<int> runs{0};
  {
    Periodic p("t", 20ms, [&] { ++runs; });
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (runs.load() < 3 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    p.Stop();
  }
  const int after = runs.load();
  EXPECT_GE(after, 3);
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(runs.load(), after);
}

TEST(KitErrors, StatusCodesMapToHttp) {
  EXPECT_EQ(ErrorFrom(NotFound("x")).status, 404);
  EXPECT_EQ(ErrorFrom(InvalidArgument("x")).status, 400);
  EXPECT_EQ(ErrorFrom(AlreadyExists("x")).status, 409);
  EXPECT_EQ(ErrorFrom(Unavailable("x")).status, 503);
  EXPECT_EQ(Error(422, "a \"b\"").body, R"({"error":"a \"b\"","code":422})");
}

}  // namespace
}  // namespace keel::kit

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new keel::outbox::testing::ServersEnv);
  return RUN_ALL_TESTS();
}
