// Runs against one real Redis Cluster (3 primaries + 3 replicas) shared by
// all tests of this binary, in order; the last one kills a primary.
#include "keel/redis/cluster_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "keel/base/clock.h"
#include "keel/redis/script.h"
#include "keel/redis/slot.h"
#include "keel/redis/testing/io_thread.h"
#include "keel/redis/testing/redis_cluster.h"
#include "keel/redis/testing/sync.h"

namespace keel::redis {
namespace {

using namespace std::chrono_literals;
using testing::ExecSync;
using testing::IoThread;
using testing::RedisCluster;

std::uint64_t Redirects(obs::Registry& registry, std::string_view type) {
  return registry.AddCounter("keel_redis_cluster_redirects_total", "", {"type"})
      .Get({type})
      ->Value();
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = RedisCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status().message();
    cluster_ = std::move(*cluster).release();
    loop_ = new IoThread();
    registry_ = new obs::Registry();
    ClusterOptions o;
    o.seeds = cluster_->seeds();
    o.command_timeout = 2s;
    loop_->Run([&] {
      auto c = ClusterClient::Create(loop_->io(), o, *registry_);
      ASSERT_TRUE(c.ok()) << c.status().message();
      client_ = std::move(*c).release();
    });
  }
  static void TearDownTestSuite() {
    if (loop_ != nullptr) loop_->Run([] { delete client_; });
    delete loop_;
    delete registry_;
    delete cluster_;
  }
  void SetUp() override {
    if (client_ == nullptr) GTEST_SKIP() << "no cluster";
  }

  static Status Refresh() {
    std::promise<Status> done;
    client_->RefreshTopology([&](Status s) { done.set_value(s); });
    return done.get_future().get();
  }
  static std::string IdOf(const std::string& address) {
    auto nodes = cluster_->Nodes();
    if (!nodes.ok()) return "";
    for (const auto& n : *nodes) {
      if (n.address == address) return n.id;
    }
    return "";
  }
  static std::vector<std::string> Primaries() {
    std::vector<std::string> out;
    auto nodes = cluster_->Nodes();
    if (!nodes.ok()) return out;
    for (const auto& n : *nodes) {
      if (n.primary && !n.failed && !n.slots.empty()) out.push_back(n.address);
    }
    return out;
  }
  // Runs a command on the node at `address` directly.
  static StatusOr<Reply> On(const std::string& address, const std::vector<std::string>& args) {
    return cluster_->ServerAt(address)->Call(args);
  }
  // Every running node's CLUSTER NODES gives `slot` to `address`.
  static bool AllAgree(int slot, const std::string& address) {
    const auto until = SystemClock::Default().Now() + 10s;
    while (SystemClock::Default().Now() < until) {
      bool agree = true;
      for (std::size_t i = 0; i < cluster_->size() && agree; ++i) {
        auto& server = cluster_->server(i);
        if (!server.running()) continue;
        auto r = server.Call({"CLUSTER", "SLOTS"});
        agree = false;
        if (!r.ok()) break;
        for (const Reply& range : r->elements) {
          if (range.elements[0].integer <= slot && slot <= range.elements[1].integer) {
            agree = range.elements[2].elements[0].str + ":" +
                        std::to_string(range.elements[2].elements[1].integer) ==
                    address;
          }
        }
      }
      if (agree) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  static RedisCluster* cluster_;
  static IoThread* loop_;
  static obs::Registry* registry_;
  static ClusterClient* client_;
};

RedisCluster* ClusterTest::cluster_ = nullptr;
IoThread* ClusterTest::loop_ = nullptr;
obs::Registry* ClusterTest::registry_ = nullptr;
ClusterClient* ClusterTest::client_ = nullptr;

TEST_F(ClusterTest, KeySlotMatchesClusterKeyslot) {
  const std::vector<std::string> keys = {"foo",      "bar",        "{user1000}.following",
                                         "{}foo",    "foo{}{bar}", "foo{{bar}}zap",
                                         "a{b}c{d}", "key:12345",  std::string("bin\0ary", 7)};
  for (const auto& key : keys) {
    auto r = cluster_->server(0).Call({"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->integer, KeySlot(key)) << key;
  }
}

TEST_F(ClusterTest, RoutesByKeyToAllThreePrimaries) {
  ASSERT_TRUE(Refresh().ok());
  const auto moved_before = Redirects(*registry_, "moved");
  std::set<std::string> used;
  for (int i = 0; i < 200; ++i) {
    const std::string key = "route:" + std::to_string(i);
    auto r = ExecSync(*client_, {"SET", key, std::to_string(i)});
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(*r, Reply::StatusReply("OK"));
    const std::string owner = client_->PrimaryFor(KeySlot(key));
    EXPECT_EQ(client_->ShardOf(key), owner);  // per-server state (breakers) keys on it
    used.insert(owner);
    // The node the client chose holds the key (a wrong one would answer MOVED).
    EXPECT_EQ(*On(owner, {"GET", key}), Reply::String(std::to_string(i))) << key;
  }
  EXPECT_EQ(used.size(), 3u);
  EXPECT_EQ(Redirects(*registry_, "moved"), moved_before) << "the slot map was not used";
  EXPECT_EQ(*ExecSync(*client_, {"PING"}), Reply::StatusReply("PONG"));
}

TEST_F(ClusterTest, PipelinesConcurrentCommandsAcrossNodes) {
  constexpr int kN = 1000, kKeys = 10;
  std::atomic<int> ok{0}, left{kN};
  std::promise<void> all;
  loop_->Run([&] {
    for (int i = 0; i < kN; ++i) {
      client_->Exec({"INCR", "pipe:" + std::to_string(i % kKeys)}, [&](StatusOr<Reply> r) {
        if (r.ok() && r->type == ReplyType::kInteger) ++ok;
        if (--left == 0) all.set_value();
      });
    }
  });
  all.get_future().wait();
  EXPECT_EQ(ok.load(), kN);
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(*ExecSync(*client_, {"GET", "pipe:" + std::to_string(k)}),
              Reply::String(std::to_string(kN / kKeys)));
  }
}

TEST_F(ClusterTest, RunsScriptsOnEveryPrimary) {
  auto script = std::make_shared<Script>("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  std::set<std::string> nodes;
  for (int i = 0; i < 30; ++i) {
    const std::string key = "script:" + std::to_string(i);
    auto r = testing::EvalShaSync(*client_, script, {key}, {"5"});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, Reply::Integer(5)) << r->DebugString();
    nodes.insert(client_->PrimaryFor(KeySlot(key)));
  }
  EXPECT_EQ(nodes.size(), 3u);
}

TEST_F(ClusterTest, BoundsARedirectLoop) {
  // A says ASK -> B, B (not importing) says MOVED -> A, and so on.
  const std::string key = "{loop}k";
  const int slot = KeySlot(key);
  const std::string a = *cluster_->PrimaryForSlot(slot);
  std::string b;
  for (const auto& p : Primaries()) {
    if (p != a) b = p;
  }
  ASSERT_FALSE(b.empty());
  ASSERT_TRUE(On(a, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", IdOf(b)})->type ==
              ReplyType::kStatus);
  const auto exhausted = Redirects(*registry_, "exhausted");
  auto r = ExecSync(*client_, {"GET", key});
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kRedirects) << r.status().message();
  EXPECT_EQ(Redirects(*registry_, "exhausted"), exhausted + 1);
  ASSERT_TRUE(On(a, {"CLUSTER", "SETSLOT", std::to_string(slot), "STABLE"})->type ==
              ReplyType::kStatus);
  EXPECT_TRUE(ExecSync(*client_, {"GET", key}).ok());
}

TEST_F(ClusterTest, FollowsAskDuringAMigrationAndMovedAfterIt) {
  ASSERT_TRUE(Refresh().ok());
  const std::string key = "{migrate}k";
  const int slot = KeySlot(key);
  const std::string a = *cluster_->PrimaryForSlot(slot);
  ASSERT_EQ(client_->PrimaryFor(slot), a);
  ASSERT_EQ(*On(a, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}), Reply::Integer(0));
  std::string b;
  for (const auto& p : Primaries()) {
    if (p != a) b = p;
  }
  const std::string s = std::to_string(slot);
  ASSERT_EQ(*On(b, {"CLUSTER", "SETSLOT", s, "IMPORTING", IdOf(a)}), Reply::StatusReply("OK"));
  ASSERT_EQ(*On(a, {"CLUSTER", "SETSLOT", s, "MIGRATING", IdOf(b)}), Reply::StatusReply("OK"));

  // The key is not on A: A answers ASK, the client asks B.
  const auto ask = Redirects(*registry_, "ask");
  ASSERT_EQ(*ExecSync(*client_, {"SET", key, "v"}), Reply::StatusReply("OK"));
  EXPECT_EQ(*ExecSync(*client_, {"GET", key}), Reply::String("v"));
  EXPECT_EQ(Redirects(*registry_, "ask"), ask + 2);
  EXPECT_EQ(client_->PrimaryFor(slot), a) << "ASK must not move the slot";

  // The migration ends: the slot is B's; A answers MOVED once, then the client goes to B.
  for (const auto& p : Primaries()) {
    On(p, {"CLUSTER", "SETSLOT", s, "NODE", IdOf(b)});
  }
  ASSERT_TRUE(AllAgree(slot, b));
  const auto moved = Redirects(*registry_, "moved");
  EXPECT_EQ(*ExecSync(*client_, {"GET", key}), Reply::String("v"));
  EXPECT_EQ(Redirects(*registry_, "moved"), moved + 1);
  EXPECT_EQ(client_->PrimaryFor(slot), b);
  EXPECT_EQ(*ExecSync(*client_, {"GET", key}), Reply::String("v"));
  EXPECT_EQ(Redirects(*registry_, "moved"), moved + 1);
}

// Last: it leaves the cluster with one primary fewer.
TEST_F(ClusterTest, FailsOverToThePromotedReplica) {
  const std::string key = "{failover}k";
  const int slot = KeySlot(key);
  ASSERT_EQ(*ExecSync(*client_, {"SET", key, "before"}), Reply::StatusReply("OK"));
  auto killed = cluster_->KillPrimaryForSlot(slot);
  ASSERT_TRUE(killed.ok()) << killed.status().message();

  // Calls fail (connection errors, then CLUSTERDOWN) until the replica is
  // promoted and a refresh finds it; node timeout 1 s, so seconds.
  const auto until = SystemClock::Default().Now() + 30s;
  bool recovered = false;
  int failures = 0;
  while (SystemClock::Default().Now() < until) {
    auto r = ExecSync(*client_, {"SET", key, "after"}, {.timeout = 500ms});
    if (r.ok() && *r == Reply::StatusReply("OK")) {
      recovered = true;
      break;
    }
    ++failures;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(recovered) << "no write succeeded within 30 s of killing " << *killed;
  EXPECT_GT(failures, 0);
  EXPECT_NE(client_->PrimaryFor(slot), *killed);
  // The fixture asks one node, whose view may still name the killed primary
  // until gossip has spread the failover: compare once the cluster agrees.
  EXPECT_TRUE(cluster_->WaitHealthy(10s).ok());
  EXPECT_EQ(client_->PrimaryFor(slot), *cluster_->PrimaryForSlot(slot));
  EXPECT_EQ(*ExecSync(*client_, {"GET", key}), Reply::String("after"));
}

}  // namespace
}  // namespace keel::redis
