#include "keel/ratelimit/hot_keys.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "keel/ratelimit/key_hash.h"

namespace keel::ratelimit {
namespace {

using namespace std::chrono_literals;

Clock::time_point At(Duration d) { return Clock::time_point(std::chrono::hours(24) + d); }

std::uint64_t KeyOf(int i) {
  const std::string value = "user-" + std::to_string(i);
  const DescriptorEntry entry{"user", value};
  return HashDescriptor("edge", std::span(&entry, 1), 42);
}

std::unique_ptr<HotKeys> Make(HotKeysOptions options = {}) {
  auto hot = HotKeys::Create(options);
  EXPECT_TRUE(hot.ok()) << hot.status().message();
  return hot.ok() ? std::move(*hot) : nullptr;
}

TEST(HotKeysTest, UniformTrafficHasNoHotKey) {
  auto hot = Make({.factor = 10, .min_count = 20});
  std::mt19937 rng(1);
  int flagged = 0;
  // 200 keys, ~1,000 requests/s each for 3 s, in random order.
  for (int ms = 0; ms < 3000; ++ms) {
    for (int j = 0; j < 200; ++j) flagged += hot->Record(KeyOf(static_cast<int>(rng() % 200)), At(ms * 1ms));
  }
  EXPECT_EQ(flagged, 0);
  EXPECT_GT(hot->TypicalCount(), 100u);
}

TEST(HotKeysTest, FlagsAKeyFarAboveTheMedianAndOnlyIt) {
  auto hot = Make({.factor = 10, .min_count = 20});
  const std::uint64_t busy = KeyOf(-1);
  std::mt19937 rng(2);
  int busy_flagged_first_window = 0;
  int busy_flagged_after = 0;
  int others_flagged = 0;
  // 500 keys at ~20/s each; one key at 2,000/s (100x).
  for (int ms = 0; ms < 3000; ++ms) {
    for (int j = 0; j < 10; ++j) others_flagged += hot->Record(KeyOf(static_cast<int>(rng() % 500)), At(ms * 1ms));
    for (int j = 0; j < 2; ++j) {
      (ms < 1000 ? busy_flagged_first_window : busy_flagged_after) += hot->Record(busy, At(ms * 1ms));
    }
  }
  EXPECT_EQ(others_flagged, 0);
  // Nothing is hot in the first window; after it, the busy key always is.
  EXPECT_EQ(busy_flagged_first_window, 0);
  EXPECT_EQ(busy_flagged_after, 4000);
  EXPECT_GE(hot->Estimate(busy), hot->TypicalCount() * 10);
}

TEST(HotKeysTest, AKeyThatCoolsDownIsNoLongerHot) {
  auto hot = Make({.factor = 10, .min_count = 20, .window = 1s});
  const std::uint64_t busy = KeyOf(-1);
  std::mt19937 rng(3);
  for (int ms = 0; ms < 2000; ++ms) {
    hot->Record(KeyOf(static_cast<int>(rng() % 100)), At(ms * 1ms));
    hot->Record(busy, At(ms * 1ms));
    hot->Record(busy, At(ms * 1ms));
  }
  EXPECT_TRUE(hot->Record(busy, At(2000ms)));
  // Then it sends like everyone else; counts halve every window.
  bool hot_at_end = true;
  for (int ms = 2000; ms < 12000; ++ms) {
    const int k = static_cast<int>(rng() % 100);
    hot->Record(KeyOf(k), At(ms * 1ms));
    if (ms % 100 == 0) hot_at_end = hot->Record(busy, At(ms * 1ms));
  }
  EXPECT_FALSE(hot_at_end);
}

TEST(HotKeysTest, MinCountKeepsQuietTrafficCold) {
  auto hot = Make({.factor = 2, .min_count = 50});
  // Key 0 sends 40 requests, others one each: 40x the median, under 50.
  bool flagged = false;
  for (int i = 1; i <= 40; ++i) {
    flagged = flagged || hot->Record(KeyOf(0), At(i * 1ms));
    hot->Record(KeyOf(i), At(i * 1ms));
  }
  EXPECT_FALSE(flagged);
}

TEST(HotKeysTest, CreateValidatesOptions) {
  EXPECT_FALSE(HotKeys::Create({.factor = 0.5}).ok());
  EXPECT_FALSE(HotKeys::Create({.window = 0s}).ok());
  EXPECT_FALSE(HotKeys::Create({.width = 1000}).ok());
  EXPECT_FALSE(HotKeys::Create({.width = 32}).ok());
  EXPECT_FALSE(HotKeys::Create({.depth = 0}).ok());
  EXPECT_FALSE(HotKeys::Create({.depth = 9}).ok());
  EXPECT_FALSE(HotKeys::Create({.sample = 0}).ok());
  EXPECT_TRUE(HotKeys::Create({}).ok());
}

TEST(HotKeysTest, ConcurrentRecordsAreSafe) {
  auto hot = Make({.factor = 10, .min_count = 20, .window = 10ms});
  std::vector<std::thread> threads;
  std::atomic<int> flagged{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const int k = i % 3 == 0 ? -1 : (i * 7 + t) % 300;
        if (hot->Record(KeyOf(k), At(i * 5us))) flagged.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(hot->Estimate(KeyOf(-1)), 0u);
  EXPECT_GT(flagged.load(), 0);
}

Decision Over(Duration retry, Duration reset = 500ms) {
  Decision d;
  d.code = Code::kOverLimit;
  d.limit = 10;
  d.retry_after = retry;
  d.reset_after = reset;
  return d;
}

TEST(OverLimitCacheTest, AnswersUntilRetryAfterCountingDown) {
  OverLimitCache cache(64, 100ms);
  cache.Insert(7, Over(50ms), At(0ms));
  Decision d;
  ASSERT_TRUE(cache.Lookup(7, At(10ms), &d));
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.retry_after, 40ms);
  EXPECT_EQ(d.reset_after, 490ms);
  EXPECT_EQ(d.limit, 10u);
  EXPECT_FALSE(cache.Lookup(7, At(50ms), &d));  // the request could pass now
  EXPECT_FALSE(cache.Lookup(8, At(10ms), &d));
}

TEST(OverLimitCacheTest, CapsAtMaxTtlAndIgnoresOkDecisions) {
  OverLimitCache cache(64, 100ms);
  cache.Insert(1, Over(10s), At(0ms));
  cache.Insert(2, Over(kNever), At(0ms));
  Decision ok;
  cache.Insert(3, ok, At(0ms));
  Decision d;
  EXPECT_TRUE(cache.Lookup(1, At(99ms), &d));
  EXPECT_FALSE(cache.Lookup(1, At(100ms), &d));
  ASSERT_TRUE(cache.Lookup(2, At(50ms), &d));
  EXPECT_EQ(d.retry_after, kNever);
  EXPECT_FALSE(cache.Lookup(3, At(1ms), &d));
}

TEST(OverLimitCacheTest, AKeyInTheSameSlotReplacesTheOld) {
  OverLimitCache cache(16, 100ms);
  cache.Insert(5, Over(80ms), At(0ms));
  cache.Insert(5 + 16, Over(80ms), At(1ms));
  Decision d;
  EXPECT_FALSE(cache.Lookup(5, At(2ms), &d));
  EXPECT_TRUE(cache.Lookup(5 + 16, At(2ms), &d));
}

}  // namespace
}  // namespace keel::ratelimit
