// The decision path must not allocate: this binary counts every global
// operator new and asserts none happens while deciding in steady state.
#include <gtest/gtest.h>

#include <memory>

#include "counting_new.h"
#include "keel/ratelimit/store.h"

namespace keel::ratelimit {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

TEST(StoreAllocationTest, DecisionsDoNotAllocate) {
  auto store = Store::Create({1 << 14, 16, 8}).value();
  Limit limits[] = {
      *Limit::Create({Algorithm::kFixedWindow, Unit::kSecond, 100, {}, {}}),
      *Limit::Create({Algorithm::kTokenBucket, Unit::kSecond, 100, {}, {}}),
      *Limit::Create({Algorithm::kGcra, Unit::kMinute, 100, 10, {}}),
      *Limit::Create({Algorithm::kSlidingWindow, Unit::kHour, 100, {}, {}}),
      *Limit::Create({Algorithm::kConcurrency, Unit::kSecond, 100, {}, {}}),
  };
  Decision each[5];
  std::int64_t now = 1000 * kSec;
  auto decide = [&](std::uint64_t round) {
    for (std::uint64_t key = 1; key <= 20000; ++key) {  // more keys than the cap: evictions too
      for (const Limit& limit : limits) {
        store->Apply(key, limit, static_cast<std::int64_t>(round % 3) - 1,
                     Clock::time_point(Duration(now)));
      }
      store->ApplyAll(key, limits, 1, Clock::time_point(Duration(now)), each);
      now += 1000;
    }
    store->Sweep(Clock::time_point(Duration(now)), 1024);
  };
  decide(0);  // warm up
  const std::uint64_t before = testing::AllocationCount();
  for (std::uint64_t round = 1; round <= 5; ++round) decide(round);
  const std::uint64_t allocations = testing::AllocationCount() - before;
  const StoreStats stats = store->Stats();
  EXPECT_EQ(allocations, 0u) << "per decision: "
                             << static_cast<double>(allocations) /
                                    static_cast<double>(stats.decisions);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_GT(stats.decisions, 500000u);
}

TEST(StoreAllocationTest, TheCounterSeesAllocations) {
  const std::uint64_t before = testing::AllocationCount();
  auto p = std::make_unique<int>(1);
  EXPECT_EQ(testing::AllocationCount() - before, 1u);
}

}  // namespace
}  // namespace keel::ratelimit
