// The Limiter on a RedisStore against a real redis-server (Debian's, started
// by the test on a free loopback port): decisions shared by several
// instances, every fail mode when Redis stops or stalls, recovery, hot keys.
#include "redis_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "keel/ratelimit/limiter.h"
#include "keel/redis/client.h"
#include "keel/redis/testing/io_thread.h"
#include "keel/redis/testing/redis_server.h"

namespace keel::ratelimit {
namespace {

using namespace std::chrono_literals;
using redis::testing::IoThread;
using redis::testing::RedisServer;

constexpr const char* kRules = R"(
domain: edge
descriptors:
  - key: open
    rate_limit: {unit: minute, requests_per_unit: 10, algorithm: fixed_window}
    fail_mode: open
  - key: closed
    rate_limit: {unit: minute, requests_per_unit: 10, algorithm: fixed_window}
    fail_mode: closed
  - key: local
    rate_limit: {unit: minute, requests_per_unit: 10, algorithm: token_bucket}
    fail_mode: local
  - key: multi
    rate_limits:
      - {unit: second, requests_per_unit: 100, algorithm: sliding_window}
      - {unit: minute, requests_per_unit: 30, algorithm: gcra, burst: 29}
    fail_mode: local
)";

// One Keel instance: its own client, store and limiter on the shared Redis.
struct Instance {
  obs::Registry registry;
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<RedisStore> store;
  std::unique_ptr<Limiter> limiter;
};

class RedisStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = RedisServer::Start();
    if (server.ok()) server_ = std::move(*server).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "redis-server did not start";
    if (!server_->running()) {
      ASSERT_TRUE(server_->Restart().ok());
    }
    ASSERT_TRUE(server_->Call({"FLUSHALL"}).ok());
  }
  void TearDown() override {
    for (auto& i : instances_) {
      loop_.Run([&] {
        i->limiter.reset();
        i->store.reset();
        i->client.reset();
      });
    }
  }

  Instance& Add(double local_share = 1.0, double hot_factor = 0) {
    auto inst = std::make_unique<Instance>();
    redis::ClientOptions co;
    co.port = server_->port();
    co.command_timeout = 5ms;
    co.reconnect_backoff_min = 5ms;
    co.reconnect_backoff_max = 50ms;
    Instance* raw = inst.get();
    loop_.Run([&] {
      auto client = redis::Client::Create(loop_.io(), co, raw->registry);
      EXPECT_TRUE(client.ok()) << client.status().message();
      if (client.ok()) raw->client = std::move(client).value();
    });
    auto local = Store::Create({.max_keys = 1024, .shards = 4});
    EXPECT_TRUE(local.ok());
    RedisStoreOptions so;
    so.local_share = local_share;
    so.hot_key_factor = hot_factor;
    so.hot_cache_ttl = 200ms;
    so.breaker.minimum_calls = 5;
    so.breaker.window_size = 10;
    so.breaker.wait_in_open = 200ms;
    so.breaker.half_open_calls = 2;
    auto store = RedisStore::Create(*raw->client, **local, so, SystemClock::Default(), raw->registry);
    EXPECT_TRUE(store.ok()) << store.status().message();
    raw->store = std::move(*store);
    LimiterOptions lo;
    lo.remote = raw->store.get();
    auto limiter = Limiter::Create(*RuleConfig::Parse(kRules, "rules.yaml"), lo, std::move(*local),
                                   SystemClock::Default(), raw->registry);
    EXPECT_TRUE(limiter.ok()) << limiter.status().message();
    raw->limiter = std::move(*limiter);
    instances_.push_back(std::move(inst));
    return *raw;
  }

  // One hit on descriptor key=value; true when admitted.
  static bool Hit(Instance& i, const std::string& key, const std::string& value = "v") {
    RateLimitInput in;
    in.domain = "edge";
    in.descriptors.push_back({{{key, value}}, std::nullopt, std::nullopt});
    RateLimitOutput out;
    Status s = i.limiter->Decide(in, &out);
    EXPECT_TRUE(s.ok()) << s.message();
    return out.overall_code == ResponseCode::kOk;
  }
  static int Admitted(Instance& i, const std::string& key, int n, const std::string& value = "v") {
    int ok = 0;
    for (int k = 0; k < n; ++k) ok += Hit(i, key, value);
    return ok;
  }
  static double Counter(Instance& i, const std::string& name, std::vector<std::string_view> labels) {
    return static_cast<double>(i.registry.AddCounter(name, "", {"fail_mode"}).Get(labels)->Value());
  }

  static RedisServer* server_;
  IoThread loop_;
  std::vector<std::unique_ptr<Instance>> instances_;
};

RedisServer* RedisStoreTest::server_ = nullptr;

TEST_F(RedisStoreTest, InstancesShareOneLimitInRedis) {
  Instance& a = Add();
  Instance& b = Add();
  Instance& c = Add();
  int admitted = 0;
  for (int k = 0; k < 10; ++k) admitted += Admitted(a, "local", 1) + Admitted(b, "local", 1) + Admitted(c, "local", 1);
  EXPECT_EQ(admitted, 10);  // 30 hits, one token bucket of 10 for all three
  EXPECT_FALSE(a.store->degraded());
  // The state is in Redis, under the descriptor's readable key.
  auto keys = server_->Call({"KEYS", "rl:{edge|local=v}:*"});
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->elements.size(), 1u);
}

TEST_F(RedisStoreTest, MultiLimitRuleIsAtomicInRedis) {
  Instance& a = Add();
  Instance& b = Add();
  // gcra 30/min (burst 29: 30 at once) and sliding window 100/s: the gcra
  // limit decides; a denial charges neither.
  EXPECT_EQ(Admitted(a, "multi", 20) + Admitted(b, "multi", 20), 30);
  RateLimitInput in;
  in.domain = "edge";
  in.descriptors.push_back({{{"multi", "v"}}, std::nullopt, std::nullopt});
  RateLimitOutput out;
  ASSERT_TRUE(a.limiter->Decide(in, &out).ok());
  EXPECT_EQ(out.overall_code, ResponseCode::kOverLimit);
  ASSERT_NE(out.statuses[0].current_limit, nullptr);
  EXPECT_EQ(out.statuses[0].current_limit->spec.algorithm, Algorithm::kGcra);
  EXPECT_GT(out.statuses[0].retry_after, 0ns);
}

TEST_F(RedisStoreTest, EachFailModeKeepsItsPromiseWhileRedisIsDownThenRecovers) {
  Instance& a = Add(/*local_share=*/0.5);
  EXPECT_EQ(Admitted(a, "local", 3), 3);
  server_->Stop();
  // Every decision answers (bounded by the 5 ms timeout, then at once once
  // the breaker opens); none hangs.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Admitted(a, "open", 50), 50);    // open: allow
  EXPECT_EQ(Admitted(a, "closed", 50), 0);   // closed: deny
  EXPECT_EQ(Admitted(a, "local", 50), 5);    // local: half of 10, from a fresh local bucket
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 150 * 6ms) << "150 decisions must not each wait more than the timeout";
  EXPECT_TRUE(a.store->degraded());
  EXPECT_EQ(Counter(a, "keel_ratelimit_degraded_decisions_total", {"open"}), 50);
  EXPECT_EQ(Counter(a, "keel_ratelimit_degraded_decisions_total", {"closed"}), 50);
  EXPECT_EQ(Counter(a, "keel_ratelimit_degraded_decisions_total", {"local"}), 50);

  ASSERT_TRUE(server_->Restart().ok());
  // Back within 2 s: the breaker probes, closes, decisions are Redis's again
  // (a fresh Redis: its bucket of 10 is full).
  const auto back = std::chrono::steady_clock::now();
  while (a.store->degraded() && std::chrono::steady_clock::now() - back < 2s) {
    Hit(a, "open", "probe");
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(a.store->degraded());
  const double local_before = Counter(a, "keel_ratelimit_degraded_decisions_total", {"local"});
  EXPECT_EQ(Admitted(a, "local", 20, "fresh"), 10);
  EXPECT_EQ(Counter(a, "keel_ratelimit_degraded_decisions_total", {"local"}), local_before);
}

TEST_F(RedisStoreTest, AStalledRedisTimesOutIntoTheFailMode) {
  Instance& a = Add();
  EXPECT_TRUE(Hit(a, "closed"));
  ASSERT_TRUE(server_->Call({"CLIENT", "PAUSE", "300", "ALL"}).ok());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(Hit(a, "closed"));  // timed out: closed denies
  EXPECT_TRUE(Hit(a, "open"));     // timed out: open allows
  EXPECT_LT(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_GE(a.registry.AddCounter("keel_ratelimit_store_errors_total", "", {"kind"}).Get({"timeout"})->Value(),
            2u);
  std::this_thread::sleep_for(350ms);  // the pause ends
}

TEST_F(RedisStoreTest, HotKeyDenialsAreServedLocally) {
  Instance& a = Add(1.0, /*hot_factor=*/5);
  // Background keys at a low rate, one key far above them; it is over its
  // limit after 10 hits, and its later denials come from the cache.
  for (int round = 0; round < 200; ++round) {
    for (int k = 0; k < 20; ++k) Hit(a, "local", "cold" + std::to_string((round * 20 + k) % 200));
    for (int k = 0; k < 20; ++k) Hit(a, "local", "hot");
    std::this_thread::sleep_for(10ms);  // past the sketch's first 1 s window
  }
  const auto cached =
      a.registry.AddCounter("keel_ratelimit_hot_cache_answers_total", "", {}).Get({})->Value();
  EXPECT_GT(cached, 100u);
  // Still exact: the hot key stays over its limit, cold keys are admitted.
  EXPECT_FALSE(Hit(a, "local", "hot"));
  EXPECT_TRUE(Hit(a, "local", "cold-new"));
}

}  // namespace
}  // namespace keel::ratelimit
