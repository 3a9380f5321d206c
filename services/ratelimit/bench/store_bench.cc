// Store throughput and memory as the number of live keys grows.
//
//   cmake --build --preset release -j2 --target ratelimit_bench
//   build/services/ratelimit/ratelimit_bench --benchmark_counters_tabular=true
//
// Per row: keys in the table, ns per decision (random keys, one limit, state
// written every time), bytes/key from the store's own accounting
// (MemoryBytes / keys), rss/key from the process RSS growth while creating
// and filling the store, and allocations per decision (global operator new
// is counted; it must be 0).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>

#include "../test/counting_new.h"
#include "keel/ratelimit/store.h"

namespace keel::ratelimit {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

std::int64_t RssBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages = 0, resident = 0;
  const int n = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return n == 2 ? resident * 4096 : 0;
}

struct Filled {
  std::int64_t keys = 0;
  std::unique_ptr<Store> store;
  std::int64_t rss_delta = 0;
};

const Limit& TheLimit() {
  static const Limit limit =
      *Limit::Create({Algorithm::kTokenBucket, Unit::kHour, 1'000'000'000, {}, {}});
  return limit;
}

// One filled store at a time, kept across the benchmark's repeated runs.
Filled& StoreWithKeys(std::int64_t keys) {
  static Filled filled;
  if (filled.keys == keys) return filled;
  filled.store.reset();
  const std::int64_t rss_before = RssBytes();
  StoreOptions options;
  options.max_keys = static_cast<std::size_t>(keys);
  options.shards = 64;
  filled.store = Store::Create(options).value();
  const Clock::time_point now(Duration(1000 * kSec));
  for (std::int64_t k = 1; k <= keys; ++k) {
    filled.store->Apply(static_cast<std::uint64_t>(k), TheLimit(), 1, now);
  }
  filled.rss_delta = RssBytes() - rss_before;
  filled.keys = keys;
  return filled;
}

void BM_Decision(benchmark::State& state) {
  const std::int64_t keys = state.range(0);
  Filled& filled = StoreWithKeys(keys);
  Store& store = *filled.store;
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  std::int64_t now = 1000 * kSec;
  const std::uint64_t allocations_before = testing::AllocationCount();
  for (auto _ : state) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::uint64_t key = 1 + x % static_cast<std::uint64_t>(keys);
    now += 100;
    benchmark::DoNotOptimize(store.Apply(key, TheLimit(), 1, Clock::time_point(Duration(now))));
  }
  const double allocations = static_cast<double>(testing::AllocationCount() - allocations_before);
  const StoreStats stats = store.Stats();
  state.counters["keys"] = static_cast<double>(stats.entries);
  state.counters["bytes/key"] =
      static_cast<double>(store.MemoryBytes()) / static_cast<double>(stats.entries);
  state.counters["rss/key"] =
      static_cast<double>(filled.rss_delta) / static_cast<double>(stats.entries);
  state.counters["allocs/decision"] = allocations / static_cast<double>(state.iterations());
  state.counters["evictions"] = static_cast<double>(stats.evictions);
  state.SetItemsProcessed(state.iterations());
}
// Two threads on one store (the dev VM has 2 shared cores): shows the lock
// striping, not a scaling curve. Thread 0 fills the store before the loop;
// the threads meet at the loop's start barrier.
void BM_DecisionThreads(benchmark::State& state) {
  const std::int64_t keys = state.range(0);
  static Store* store = nullptr;
  if (state.thread_index() == 0) store = StoreWithKeys(keys).store.get();
  std::uint64_t x = 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(state.thread_index());
  std::int64_t now = 1000 * kSec;
  for (auto _ : state) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::uint64_t key = 1 + x % static_cast<std::uint64_t>(keys);
    now += 100;
    benchmark::DoNotOptimize(store->Apply(key, TheLimit(), 1, Clock::time_point(Duration(now))));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecisionThreads)->Arg(1'000)->Arg(1'000'000)->Threads(2)->UseRealTime();

BENCHMARK(BM_Decision)
    ->Arg(1)
    ->Arg(1'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace keel::ratelimit

BENCHMARK_MAIN();
