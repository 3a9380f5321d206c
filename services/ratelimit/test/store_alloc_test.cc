// The decision path must not allocate: this binary counts every global
// operator new and asserts none happens while deciding in steady state.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "keel/ratelimit/store.h"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

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
        store->Apply(key, limit, static_cast<std::int64_t>(round % 3) - 1, Clock::time_point(Duration(now)));
      }
      store->ApplyAll(key, limits, 1, Clock::time_point(Duration(now)), each);
      now += 1000;
    }
    store->Sweep(Clock::time_point(Duration(now)), 1024);
  };
  decide(0);  // warm up
  const std::uint64_t before = g_allocations.load();
  for (std::uint64_t round = 1; round <= 5; ++round) decide(round);
  const std::uint64_t allocations = g_allocations.load() - before;
  const StoreStats stats = store->Stats();
  EXPECT_EQ(allocations, 0u) << "per decision: "
                             << static_cast<double>(allocations) / static_cast<double>(stats.decisions);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_GT(stats.decisions, 500000u);
}

TEST(StoreAllocationTest, TheCounterSeesAllocations) {
  const std::uint64_t before = g_allocations.load();
  auto p = std::make_unique<int>(1);
  EXPECT_EQ(g_allocations.load() - before, 1u);
}

}  // namespace
}  // namespace keel::ratelimit
