// The Lua script of the Redis store against the embedded store, on a real
// redis-server (Debian's) started by the test on a Unix socket in a temp dir:
// the same random sequence of hits, refunds, queries and clock steps must
// give the same decision for every limit, every algorithm and several limits
// applied together. hiredis's synchronous client is enough here.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "keel/ratelimit/store.h"
#include "redis_script.h"
#include "test_util.h"

namespace keel::ratelimit {
namespace {

using namespace std::chrono_literals;
using testing::MakeLimit;

// One redis-server for the whole binary, on a Unix socket (no port to pick).
class RedisServer {
 public:
  RedisServer() {
    dir_ = std::filesystem::temp_directory_path() /
           ("keel-redis-script-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    socket_ = (dir_ / "redis.sock").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string dir = dir_.string();
      ::execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", socket_.c_str(),
               "--save", "", "--appendonly", "no", "--dir", dir.c_str(), "--loglevel", "warning",
               static_cast<char*>(nullptr));
      std::_Exit(127);
    }
  }
  ~RedisServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // A connection once the server accepts (bounded wait), or null.
  redisContext* Connect() const {
    for (int i = 0; i < 500; ++i) {
      redisContext* c = redisConnectUnix(socket_.c_str());
      if (c != nullptr && c->err == 0) return c;
      if (c != nullptr) redisFree(c);
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }

 private:
  std::filesystem::path dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

class RedisScriptTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RedisServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ctx_ = server_->Connect();
    ASSERT_NE(ctx_, nullptr) << "redis-server did not start (is it installed?)";
    redisReply* r = static_cast<redisReply*>(redisCommand(ctx_, "FLUSHALL"));
    ASSERT_NE(r, nullptr);
    freeReplyObject(r);
  }
  void TearDown() override {
    if (ctx_ != nullptr) redisFree(ctx_);
  }

  // Runs the script (EVAL: this test is about the maths, not the caching).
  // Returns false (and fails) when Redis answers anything but integers.
  bool Eval(const std::vector<std::string>& keys, std::span<const Limit> limits,
            std::int64_t hits, std::int64_t now_us, std::span<Decision> per_limit) {
    std::vector<std::string> args = {"EVAL", std::string(ApplyScript()),
                                     std::to_string(keys.size())};
    args.insert(args.end(), keys.begin(), keys.end());
    AppendApplyArgs(limits, hits, now_us, &args);
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) {
      ADD_FAILURE() << "no reply: " << ctx_->errstr;
      return false;
    }
    std::vector<std::int64_t> ints;
    bool ok = r->type == REDIS_REPLY_ARRAY;
    if (!ok) ADD_FAILURE() << "reply type " << r->type << ": " << (r->str ? r->str : "");
    for (std::size_t i = 0; ok && i < r->elements; ++i) {
      ok = r->element[i]->type == REDIS_REPLY_INTEGER;
      if (ok) ints.push_back(r->element[i]->integer);
    }
    freeReplyObject(r);
    Status s = ParseApplyReply(ints, per_limit);
    EXPECT_TRUE(s.ok()) << s.message();
    return ok && s.ok();
  }

  static RedisServer* server_;
  redisContext* ctx_ = nullptr;
};

RedisServer* RedisScriptTest::server_ = nullptr;

// Counts and codes are equal; durations too, up to the script's microsecond
// grain (a "1 ns before" in the store is "1 us before" in the script).
void ExpectSame(const Decision& want, const Decision& got, const std::string& where) {
  EXPECT_EQ(static_cast<int>(want.code), static_cast<int>(got.code)) << where;
  EXPECT_EQ(want.limit, got.limit) << where;
  EXPECT_EQ(want.remaining, got.remaining) << where;
  EXPECT_LT(std::abs(want.reset_after.count() - got.reset_after.count()), 1000) << where;
  if (want.retry_after == kNever || got.retry_after == kNever) {
    EXPECT_EQ(want.retry_after == kNever, got.retry_after == kNever) << where;
  } else {
    EXPECT_LT(std::abs(want.retry_after.count() - got.retry_after.count()), 1000) << where;
  }
}

struct Descriptor {
  std::string domain;
  std::vector<DescriptorEntry> entries;
  std::vector<Limit> limits;
};

TEST_F(RedisScriptTest, MatchesTheEmbeddedStoreOnRandomSequences) {
  // Limits whose periods divide into whole microseconds per request, so the
  // script's microseconds and the store's nanoseconds round alike.
  const std::vector<Descriptor> descriptors = {
      {"edge", {{"user", "a"}}, {MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 10, 15)}},
      {"edge", {{"user", "b"}}, {MakeLimit(Algorithm::kGcra, Unit::kSecond, 5, 3)}},
      {"edge", {{"path", "/x"}}, {MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 7)}},
      {"edge", {{"path", "/y"}}, {MakeLimit(Algorithm::kSlidingWindow, Unit::kSecond, 8)}},
      {"edge", {{"conn", "c"}}, {MakeLimit(Algorithm::kConcurrency, Unit::kSecond, 4)}},
      {"api",
       {{"user", "u"}, {"op", "w"}},
       {MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 4, 4),
        MakeLimit(Algorithm::kSlidingWindow, Unit::kMinute, 20),
        MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 5)}},
      {"api",
       {{"user", "v"}},
       {MakeLimit(Algorithm::kGcra, Unit::kSecond, 10, 4),
        MakeLimit(Algorithm::kConcurrency, Unit::kMinute, 6)}},
  };
  auto store = Store::Create({.max_keys = 1024, .shards = 4});
  ASSERT_TRUE(store.ok());
  std::mt19937_64 rng(20261206);
  // A realistic wall clock: microseconds since the epoch in 2026.
  std::int64_t now_us = 1'796'000'000'000'000;
  int over = 0;
  int ok = 0;
  for (int step = 0; step < 3000; ++step) {
    const std::size_t which = rng() % descriptors.size();
    const Descriptor& d = descriptors[which];
    static constexpr std::int64_t kHits[] = {1, 1, 1, 1, 2, 3, 0, -1, -2, 20};
    const std::int64_t hits = kHits[rng() % std::size(kHits)];
    now_us += static_cast<std::int64_t>(rng() % 4 == 0 ? rng() % 400'000 : rng() % 20'000);
    std::vector<std::string> keys;
    for (const Limit& l : d.limits) keys.push_back(StateKey(d.domain, d.entries, l));
    std::vector<Decision> want(d.limits.size());
    std::vector<Decision> got(d.limits.size());
    const Clock::time_point now{std::chrono::nanoseconds(now_us * 1000)};
    const Decision combined = (*store)->ApplyAll(which, d.limits, hits, now, want);
    ASSERT_TRUE(Eval(keys, d.limits, hits, now_us, got));
    const std::string where = "step " + std::to_string(step) + " descriptor " +
                              std::to_string(which) + " hits " + std::to_string(hits);
    for (std::size_t i = 0; i < want.size(); ++i) {
      ExpectSame(want[i], got[i], where + " limit " + std::to_string(i));
    }
    ExpectSame(combined, CombineDecisions(got), where + " combined");
    (combined.ok() ? ok : over) += 1;
    if (HasFailure()) return;
  }
  // The sequence exercised both answers.
  EXPECT_GT(ok, 500);
  EXPECT_GT(over, 300);
}

TEST_F(RedisScriptTest, ServerTimeAndKeyExpiry) {
  const Limit limit = MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 2);
  const std::vector<DescriptorEntry> entries = {{"user", "t"}};
  const std::vector<std::string> keys = {StateKey("edge", entries, limit)};
  Decision d[1];
  // now 0: the script reads Redis TIME.
  ASSERT_TRUE(Eval(keys, std::span(&limit, 1), 2, 0, d));
  EXPECT_TRUE(d[0].ok());
  EXPECT_EQ(d[0].remaining, 0u);
  ASSERT_TRUE(Eval(keys, std::span(&limit, 1), 1, 0, d));
  EXPECT_FALSE(d[0].ok());
  EXPECT_GT(d[0].retry_after.count(), 0);
  EXPECT_LE(d[0].retry_after, std::chrono::seconds(1));
  // The state key expires with its window: no key outlives its state.
  auto* r = static_cast<redisReply*>(redisCommand(ctx_, "PTTL %s", keys[0].c_str()));
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->type, REDIS_REPLY_INTEGER);
  EXPECT_GT(r->integer, 0);
  EXPECT_LE(r->integer, 1000);
  freeReplyObject(r);
}

TEST(RedisStateKeyTest, EscapesSoDescriptorsNeverShareAKeyAndLimitsShareATag) {
  const Limit a = MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 2);
  const Limit b = MakeLimit(Algorithm::kTokenBucket, Unit::kMinute, 9);
  const std::vector<DescriptorEntry> e1 = {{"k", "v|x=y"}};
  const std::vector<DescriptorEntry> e2 = {{"k", "v"}, {"x", "y"}};
  EXPECT_NE(StateKey("d", e1, a), StateKey("d", e2, a));
  EXPECT_EQ(StateKey("d", e2, a).substr(0, 14), "rl:{d|k=v|x=y}");
  const std::vector<DescriptorEntry> braces = {{"k", "}{"}};
  const std::string ka = StateKey("d", braces, a);
  const std::string kb = StateKey("d", braces, b);
  EXPECT_NE(ka, kb);
  // Redis Cluster hashes what lies between the first '{' and the next '}':
  // the same for every limit of a descriptor.
  auto tag = [](const std::string& k) {
    auto open = k.find('{');
    return k.substr(open + 1, k.find('}', open + 1) - open - 1);
  };
  EXPECT_EQ(tag(ka), tag(kb));
}

TEST(RedisReplyTest, RejectsAReplyOfTheWrongShape) {
  Decision d[2];
  const std::int64_t short_reply[] = {0, 5, 4, 100, 0};
  EXPECT_FALSE(ParseApplyReply(short_reply, d).ok());
  const std::int64_t bad_code[] = {2, 5, 4, 100, 0};
  EXPECT_FALSE(ParseApplyReply(bad_code, std::span(d, 1)).ok());
  const std::int64_t never[] = {1, 5, 0, 100, -1};
  ASSERT_TRUE(ParseApplyReply(never, std::span(d, 1)).ok());
  EXPECT_EQ(d[0].retry_after, kNever);
}

}  // namespace
}  // namespace keel::ratelimit
