#include "keel/outbox/outbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "keel/outbox/testing/servers_env.h"

namespace keel::outbox {
namespace {

using namespace std::chrono_literals;

using testing::g_nats;
using testing::g_pg;

struct OutboxTest : ::testing::Test {
  void SetUp() override {
    static std::atomic<int> n{0};
    const int i = ++n;
    auto url = g_pg->CreateDatabase("outbox" + std::to_string(i));
    ASSERT_TRUE(url.ok());
    options.url = *url;
    auto c = pg::Connection::Open(options);
    ASSERT_TRUE(c.ok());
    conn = std::move(*c);
    ASSERT_TRUE(pg::Migrate(*conn, "svc", {TableMigration(1)}).ok());
    auto nc = nats::Client::Connect({.url = g_nats->url()}, registry);
    ASSERT_TRUE(nc.ok()) << nc.status().message();
    client = std::move(*nc);
    stream = "EV" + std::to_string(i);
    subject = "ev" + std::to_string(i) + ".created";
    ASSERT_TRUE(client->EnsureStream({.name = stream, .subjects = {subject}}).ok());
  }

  StatusOr<std::int64_t> AppendOne(pg::Connection& c, const std::string& agg, int n) {
    return Append(c, "svc", {.type = "thing.created", .subject = subject, .aggregate_id = agg,
                             .data = "{\"n\":" + std::to_string(n) + "}"});
  }

  // The stream's messages, read back by a fresh consumer.
  std::vector<nlohmann::json> Read(std::size_t want, Duration timeout = 5s) {
    auto consumer = client->PullSubscribe(stream, {.durable = "r" + std::to_string(++reads),
                                                   .filter_subject = subject});
    std::vector<nlohmann::json> out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (out.size() < want && std::chrono::steady_clock::now() < until) {
      auto got = (*consumer)->Fetch(100, 200ms);
      if (!got.ok()) break;
      for (auto& m : *got) {
        out.push_back(nlohmann::json::parse(m.data()));
        (void)m.Ack();
      }
    }
    return out;
  }

  bool WaitPublished(Relay& relay, std::uint64_t n, Duration timeout = 5s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (relay.published() < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    return relay.published() >= n;
  }

  std::unique_ptr<Relay> StartRelay(Duration poll = 2s) {
    auto r = Relay::Start({.postgres = options, .schema = "svc", .poll_interval = poll}, *client, registry);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : nullptr;
  }

  obs::Registry registry;
  pg::Options options;
  std::unique_ptr<pg::Connection> conn;
  std::unique_ptr<nats::Client> client;
  std::string stream, subject;
  int reads = 0;
};

TEST_F(OutboxTest, CommittedEventsArePublishedInOrderAsCloudEvents) {
  // A 10 s poll: publishing within 3 s below means the commit's NOTIFY woke it.
  auto relay = StartRelay(10s);
  std::this_thread::sleep_for(100ms);  // the relay is listening
  ASSERT_TRUE(pg::Transact(*conn, {}, [&](pg::Connection& tx) -> Status {
                for (int i = 1; i <= 3; ++i) {
                  if (auto id = AppendOne(tx, "a1", i); !id.ok()) return id.status();
                }
                return Status::Ok();
              }).ok());
  // A rolled-back transaction's event never leaves.
  (void)pg::Transact(*conn, {}, [&](pg::Connection& tx) -> Status {
    (void)AppendOne(tx, "a1", 99);
    return Aborted("rolled back on purpose");
  });
  ASSERT_TRUE(WaitPublished(*relay, 3, 3s));
  auto events = Read(3);
  ASSERT_EQ(events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const auto& e = events[static_cast<std::size_t>(i)];
    EXPECT_EQ(e["specversion"], "1.0");
    EXPECT_EQ(e["type"], "thing.created");
    EXPECT_EQ(e["source"], "/keel/svc");
    EXPECT_EQ(e["subject"], "a1");
    EXPECT_EQ(e["datacontenttype"], "application/json");
    EXPECT_EQ(e["data"]["n"], i + 1);
    EXPECT_EQ(e["id"], "svc-" + std::to_string(i + 1));
    EXPECT_EQ(e["time"].get<std::string>().size(), 27u) << e["time"];  // 2026-12-07T08:00:00.123456Z
  }
  EXPECT_EQ(client->Stream(stream)->messages, 3u);
  auto rows = conn->Exec("SELECT count(*), count(published_at) FROM svc.outbox");
  EXPECT_EQ(rows->int64(0, 0), 3);  // the rolled-back event was never there
  EXPECT_EQ(rows->int64(0, 1), 3);
}

TEST_F(OutboxTest, ARowCommittedOutOfIdOrderIsNotOvertaken) {
  auto other = pg::Connection::Open(options);
  ASSERT_TRUE(other.ok());
  auto relay = StartRelay(100ms);
  // T1 takes id 1 and stays open; T2 takes id 2 and commits first.
  ASSERT_TRUE((*other)->Script("BEGIN").ok());
  auto first = AppendOne(**other, "a", 1);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(pg::Transact(*conn, {}, [&](pg::Connection& tx) { return AppendOne(tx, "a", 2).status(); }).ok());
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(relay->published(), 0u) << "id 2 went out while id 1 could still commit";
  ASSERT_TRUE((*other)->Script("COMMIT").ok());
  ASSERT_TRUE(WaitPublished(*relay, 2));
  auto events = Read(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["id"], "svc-1");
  EXPECT_EQ(events[1]["id"], "svc-2");
}

TEST_F(OutboxTest, ARepublishAfterALostMarkIsDeduplicated) {
  {
    auto relay = StartRelay();
    ASSERT_TRUE(pg::Transact(*conn, {}, [&](pg::Connection& tx) { return AppendOne(tx, "a", 1).status(); }).ok());
    ASSERT_TRUE(WaitPublished(*relay, 1));
  }
  // As if the relay crashed after JetStream's ack and before its UPDATE.
  ASSERT_TRUE(conn->Exec("UPDATE svc.outbox SET published_at = NULL").ok());
  auto relay = StartRelay();
  ASSERT_TRUE(WaitPublished(*relay, 1));
  EXPECT_EQ(client->Stream(stream)->messages, 1u);
  const std::string text = registry.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_NE(text.find("keel_nats_published_total{outcome=\"duplicate\"} 1"), std::string::npos) << text;
}

TEST_F(OutboxTest, WithoutANotificationThePollPublishes) {
  auto relay = StartRelay(200ms);
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(conn->Exec("INSERT INTO svc.outbox (type, source, subject, aggregate_id, data) "
                         "VALUES ('t', 's', $1, 'a', '{}')",
                         {subject})
                  .ok());
  ASSERT_TRUE(WaitPublished(*relay, 1, 3s));
}

TEST_F(OutboxTest, EventsWaitOutANatsOutage) {
  auto relay = StartRelay(100ms);
  g_nats->Stop();
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(pg::Transact(*conn, {}, [&](pg::Connection& tx) { return AppendOne(tx, "a", i).status(); }).ok());
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(relay->published(), 0u);
  ASSERT_TRUE(g_nats->Resume().ok());
  ASSERT_TRUE(WaitPublished(*relay, 5, 15s)) << relay->published();
  auto events = Read(5);
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(events[static_cast<std::size_t>(i)]["data"]["n"], i + 1);
  EXPECT_EQ(client->Stream(stream)->messages, 5u);
}

TEST_F(OutboxTest, PublishDelayIsObservedOncePerPublishedEvent) {
  auto relay = StartRelay(100ms);
  // Held open 300 ms after its insert: the delay counts from the insert, so
  // that event's observation is at least 0.3 s (an upper bound of commit → ack).
  ASSERT_TRUE(pg::Transact(*conn, {}, [&](pg::Connection& tx) -> Status {
                if (auto id = AppendOne(tx, "a", 1); !id.ok()) return id.status();
                std::this_thread::sleep_for(300ms);
                return Status::Ok();
              }).ok());
  for (int i = 2; i <= 4; ++i) {
    ASSERT_TRUE(pg::Transact(*conn, {}, [&](pg::Connection& tx) { return AppendOne(tx, "a", i).status(); }).ok());
  }
  ASSERT_TRUE(WaitPublished(*relay, 4));
  const auto delay = registry.AddHistogram("keel_outbox_publish_delay_seconds", "", {"schema"})
                         .Get({"svc"})
                         ->Collect();
  EXPECT_EQ(delay.count, relay->published());
  EXPECT_EQ(delay.count, 4u);
  EXPECT_GE(delay.sum, 0.3);
  EXPECT_LT(delay.sum, 4 * 5.0);  // none anywhere near WaitPublished's 5 s
}

TEST_F(OutboxTest, BadInputIsRejected) {
  EXPECT_EQ(Append(*conn, "svc", {.type = "", .subject = "x", .aggregate_id = "a"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Relay::Start({.postgres = options, .schema = ""}, *client, registry).status().code(),
            StatusCode::kInvalidArgument);
  // Data that is not JSON: the insert fails, nothing is written.
  auto bad = Append(*conn, "svc", {.type = "t", .subject = "x", .aggregate_id = "a", .data = "{nope"});
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace keel::outbox

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new keel::outbox::testing::ServersEnv());
  return RUN_ALL_TESTS();
}
