// Many threads on one store: totals must be exact and TSan must stay quiet.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/rng.h"
#include "keel/ratelimit/store.h"
#include "test_util.h"

namespace keel::ratelimit {
namespace {

using testing::kSec;
using testing::kStart;
using testing::MakeLimit;

TEST(StoreHammerTest, ConcurrentDecisionsAreExact) {
  auto store = Store::Create({1 << 12, 8, 8}).value();
  ManualClock clock{Clock::time_point(Duration(kStart))};
  const Limit per_hour = MakeLimit(Algorithm::kFixedWindow, Unit::kHour, 1000);
  const Limit bucket = MakeLimit(Algorithm::kTokenBucket, Unit::kHour, 500);
  const Limit limits[] = {per_hour, bucket};
  constexpr int kThreads = 4;
  constexpr int kKeys = 16;
  std::atomic<std::int64_t> admitted_single{0};
  std::atomic<std::int64_t> admitted_multi{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Rng rng(static_cast<std::uint64_t>(t) + 1);
      for (int i = 0; i < 20000; ++i) {
        const auto key = static_cast<std::uint64_t>(rng.Uniform(1, kKeys));
        if (store->Apply(key, per_hour, 1, clock.Now()).ok()) ++admitted_single;
        if (store->ApplyAll(key + 1000, limits, 1, clock.Now()).ok()) ++admitted_multi;
        if (i % 1000 == 0) {
          store->Sweep(clock.Now(), 64);
          store->Stats();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted_single.load(), 1000 * kKeys);
  EXPECT_EQ(admitted_multi.load(), 500 * kKeys);  // the bucket is the tighter
  EXPECT_EQ(store->Stats().decisions, kThreads * 20000u * 3);
}

TEST(StoreHammerTest, ChurnAtTheCapStaysConsistent) {
  auto store = Store::Create({256, 4, 4}).value();
  ManualClock clock{Clock::time_point(Duration(kStart))};
  const Limit limit = MakeLimit(Algorithm::kSlidingWindow, Unit::kSecond, 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Rng rng(static_cast<std::uint64_t>(t) + 7);
      for (int i = 0; i < 20000; ++i) {
        store->Apply(rng.Next(), limit, 1, clock.Now());
        if (t == 0 && i % 500 == 0) clock.Advance(Duration(kSec / 4));
        if (t == 1 && i % 200 == 0) store->Sweep(clock.Now(), 32);
      }
    });
  }
  for (auto& th : threads) th.join();
  StoreStats s = store->Stats();
  EXPECT_LE(s.entries, s.capacity);
  EXPECT_GT(s.evictions + s.expired, 0u);
}

}  // namespace
}  // namespace keel::ratelimit
