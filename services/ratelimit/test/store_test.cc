#include "keel/ratelimit/store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "keel/ratelimit/key_hash.h"
#include "test_util.h"

namespace keel::ratelimit {
namespace {

using testing::kMs;
using testing::kSec;
using testing::kStart;
using testing::MakeLimit;

Clock::time_point At(std::int64_t ns) { return Clock::time_point(Duration(ns)); }

std::unique_ptr<Store> MakeStore(std::size_t max_keys, std::size_t shards = 4,
                                 std::size_t sample = 8) {
  StatusOr<std::unique_ptr<Store>> store = Store::Create({max_keys, shards, sample});
  EXPECT_TRUE(store.ok()) << store.status().message();
  return std::move(*store);
}

TEST(StoreTest, RejectsBadOptions) {
  EXPECT_FALSE(Store::Create({0, 4, 8}).ok());
  EXPECT_FALSE(Store::Create({10, 3, 8}).ok());
  EXPECT_FALSE(Store::Create({10, 0, 8}).ok());
  EXPECT_FALSE(Store::Create({10, 4, 0}).ok());
}

TEST(StoreTest, KeepsStatePerKeyAndPerLimit) {
  auto store = MakeStore(1000);
  const Limit two = MakeLimit(Algorithm::kFixedWindow, Unit::kMinute, 2);
  const Limit three = MakeLimit(Algorithm::kFixedWindow, Unit::kMinute, 3);
  EXPECT_TRUE(store->Apply(1, two, 2, At(kStart)).ok());
  EXPECT_FALSE(store->Apply(1, two, 1, At(kStart)).ok());
  EXPECT_TRUE(store->Apply(2, two, 1, At(kStart)).ok());    // another key
  EXPECT_TRUE(store->Apply(1, three, 3, At(kStart)).ok());  // another limit
  StoreStats s = store->Stats();
  EXPECT_EQ(s.decisions, 4u);
  EXPECT_EQ(s.over_limit, 1u);
  EXPECT_EQ(s.inserts, 3u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.bytes, store->MemoryBytes());
}

TEST(StoreTest, QueriesAndDenialsDoNotCreateEntries) {
  auto store = MakeStore(1000);
  const Limit one = MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 1);
  EXPECT_EQ(store->Apply(7, one, 0, At(kStart)).remaining, 1u);
  EXPECT_FALSE(store->Apply(7, one, 2, At(kStart)).ok());
  EXPECT_TRUE(store->Apply(7, one, -1, At(kStart)).ok());
  EXPECT_EQ(store->Stats().entries, 0u);
}

TEST(StoreTest, ApplyAllConsumesOnlyWhenEveryLimitPasses) {
  auto store = MakeStore(1000, 64);
  const Limit per_second = MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 5);
  const Limit per_minute = MakeLimit(Algorithm::kFixedWindow, Unit::kMinute, 8);
  const Limit limits[] = {per_second, per_minute};
  Decision each[2];
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->ApplyAll(9, limits, 1, At(kStart), each).ok());
  Decision d = store->ApplyAll(9, limits, 1, At(kStart), each);
  EXPECT_FALSE(d.ok());
  EXPECT_FALSE(each[0].ok());
  EXPECT_TRUE(each[1].ok());
  EXPECT_EQ(each[1].remaining, 3u);  // passing, but not charged
  // One second later the bucket refilled; the minute has 3 left.
  Decision ok = store->ApplyAll(9, limits, 1, At(kStart + kSec), each);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.remaining, 2u);  // the tighter of the two
  EXPECT_EQ(each[0].remaining, 4u);
  EXPECT_EQ(each[1].remaining, 2u);
  // Three more pass the bucket but the third is denied by the minute.
  EXPECT_TRUE(store->ApplyAll(9, limits, 1, At(kStart + kSec), each).ok());
  EXPECT_TRUE(store->ApplyAll(9, limits, 1, At(kStart + kSec), each).ok());
  Decision denied = store->ApplyAll(9, limits, 1, At(kStart + kSec), each);
  EXPECT_FALSE(denied.ok());
  EXPECT_EQ(denied.retry_after.count(), 59 * kSec);
  EXPECT_EQ(each[0].remaining, 2u);  // the bucket was not charged
  EXPECT_TRUE(each[0].ok());
}

TEST(StoreTest, ApplyAllReportsTheLongestRetryAfter) {
  auto store = MakeStore(1000, 64);
  const Limit limits[] = {MakeLimit(Algorithm::kTokenBucket, Unit::kSecond, 1),
                          MakeLimit(Algorithm::kTokenBucket, Unit::kMinute, 1)};
  ASSERT_TRUE(store->ApplyAll(3, limits, 1, At(kStart)).ok());
  Decision d = store->ApplyAll(3, limits, 1, At(kStart));
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.retry_after.count(), 60 * kSec);
}

TEST(StoreTest, ExpiredEntriesAreSweptAndReused) {
  auto store = MakeStore(1000, 1);
  const Limit limit = MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 1);
  for (std::uint64_t k = 1; k <= 100; ++k) store->Apply(k, limit, 1, At(kStart));
  EXPECT_EQ(store->Stats().entries, 100u);
  EXPECT_EQ(store->Sweep(At(kStart + 999 * kMs), 1 << 20), 0u);
  // Expired entries act as absent before any sweep.
  EXPECT_TRUE(store->Apply(1, limit, 1, At(kStart + kSec)).ok());
  EXPECT_EQ(store->Sweep(At(kStart + kSec), 1 << 20), 99u);
  StoreStats s = store->Stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.expired, 99u);
  EXPECT_TRUE(store->Apply(1, limit, 0, At(kStart + kSec)).remaining == 0u);
}

TEST(StoreTest, SweepIsIncremental) {
  auto store = MakeStore(1000, 1);
  const Limit limit = MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 1);
  for (std::uint64_t k = 1; k <= 200; ++k) store->Apply(k, limit, 1, At(kStart));
  std::size_t deleted = 0;
  for (int i = 0; i < 1000 && deleted < 200; ++i) {
    const std::size_t step = store->Sweep(At(kStart + kSec), 16);
    EXPECT_LE(step, 16u);
    deleted += step;
  }
  EXPECT_EQ(deleted, 200u);
  EXPECT_EQ(store->Stats().entries, 0u);
}

TEST(StoreTest, CapEvictsTheSoonestExpiringEntries) {
  auto store = MakeStore(100, 1, 64);
  const std::size_t cap = store->Stats().capacity;
  ASSERT_GE(cap, 100u);
  const Limit short_lived = MakeLimit(Algorithm::kFixedWindow, Unit::kSecond, 5);
  const Limit long_lived = MakeLimit(Algorithm::kFixedWindow, Unit::kHour, 5);
  // Fill to the cap: half short-lived, half long-lived.
  for (std::uint64_t k = 0; k < cap; ++k) {
    store->Apply(k, k % 2 ? long_lived : short_lived, 1, At(kStart));
  }
  ASSERT_EQ(store->Stats().entries, cap);
  for (std::uint64_t k = cap; k < cap + 20; ++k) store->Apply(k, long_lived, 1, At(kStart));
  StoreStats s = store->Stats();
  EXPECT_EQ(s.entries, cap);
  EXPECT_EQ(s.evictions, 20u);
  // With a sample this large the victims are short-lived entries.
  int long_kept = 0;
  for (std::uint64_t k = 1; k < cap; k += 2) {
    long_kept += store->Apply(k, long_lived, 0, At(kStart)).remaining == 4u;
  }
  EXPECT_EQ(long_kept, static_cast<int>(cap / 2));
}

TEST(StoreTest, StatsListsEveryStatOnce) {
  auto store = MakeStore(10);
  int counters = 0, gauges = 0;
  store->Stats().ForEach(
      [&](std::string_view name, std::string_view help, StatKind kind, std::uint64_t) {
        EXPECT_FALSE(name.empty());
        EXPECT_FALSE(help.empty());
        (kind == StatKind::kCounter ? counters : gauges)++;
      });
  EXPECT_EQ(counters, 6);
  EXPECT_EQ(gauges, 3);
}

TEST(StoreTest, WorksWithHashedDescriptors) {
  auto store = MakeStore(1000);
  const Limit limit = MakeLimit(Algorithm::kGcra, Unit::kMinute, 30, 15);
  DescriptorEntry entries[] = {{"user", "user123"}};
  const std::uint64_t key = HashDescriptor("api", entries);
  Decision d = store->Apply(key, limit, 1, At(kStart));
  EXPECT_EQ(d.limit, 16u);
  EXPECT_EQ(d.remaining, 15u);
}

}  // namespace
}  // namespace keel::ratelimit
