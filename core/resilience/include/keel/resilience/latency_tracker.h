// LatencyTracker: a cheap rolling percentile estimate of observed latencies.
//
// Used to set a hedging delay to the observed p95 ("The Tail at Scale": send
// the backup request after the 95th-percentile expected latency) and to derive
// timeouts (p95 x 1.2). Latencies land in log-linear buckets (exact below
// 32 us, then 32 buckets per power of two up to 2^26 us ~ 67 s), so an
// estimate is within ~1.6 % of the true sample quantile (half a bucket of
// width 1/32) for values in range. Values above the top are clamped to it.
//
// The window is two rotating intervals (current + previous, `interval` each),
// so a latency ages out between one and two intervals after it was recorded.
//
//   LatencyTracker tracker(SystemClock::Default());
//   tracker.Record(clock.Now() - start);
//   if (auto p95 = tracker.Percentile(0.95)) hedge_delay = *p95;
//
// Thread-safety: Record and Percentile may be called from any thread. Record
// is a clock read and three relaxed atomic increments; it takes a mutex only
// on the first record of a new interval, to clear the slot being reused. A
// record racing with that clear may be lost: an estimator can afford it.
//
// Percentile caches its last answer and recomputes it (a scan of ~1.4k
// counters) only when `recompute_every` records arrived, the interval passed,
// or a different p is asked, so per-request calls stay cheap.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "keel/base/clock.h"

namespace keel::resilience {

struct LatencyTrackerOptions {
  // Length of one of the two rotating intervals. REQUIRES: > 0.
  Clock::duration interval = std::chrono::seconds(10);
  // Percentile returns nullopt while the window holds fewer samples.
  std::uint64_t min_samples = 100;
  // The cached percentile is recomputed after this many records.
  std::uint64_t recompute_every = 1000;
};

class LatencyTracker {
 public:
  // `clock` must outlive the tracker.
  explicit LatencyTracker(const Clock& clock, LatencyTrackerOptions options = {});
  LatencyTracker(const LatencyTracker&) = delete;
  LatencyTracker& operator=(const LatencyTracker&) = delete;

  // Records one observed latency; negative values count as 0.
  void Record(Clock::duration latency);

  // The p-quantile (p in [0, 1], e.g. 0.95) of the latencies in the window,
  // or nullopt while it holds fewer than min_samples.
  std::optional<Clock::duration> Percentile(double p);

  // Samples currently in the window (current + previous interval).
  std::uint64_t WindowCount() const;

  // Bucket layout, exposed for tests.
  static constexpr int kSubBuckets = 32;
  static constexpr int kBuckets = kSubBuckets + 21 * kSubBuckets;  // 0 .. 2^26 us
  static int BucketFor(std::int64_t micros);
  // The value reported for a bucket: its midpoint, in microseconds.
  static double BucketValue(int bucket);

 private:
  struct Slot {
    std::atomic<std::int64_t> epoch{-1};
    std::atomic<std::uint64_t> total{0};
    std::array<std::atomic<std::uint32_t>, kBuckets> counts{};
  };

  std::int64_t EpochAt(Clock::time_point t) const;
  Slot& SlotFor(std::int64_t epoch);
  std::optional<Clock::duration> Compute(double p, std::int64_t epoch) const;

  const Clock& clock_;
  const LatencyTrackerOptions options_;
  std::array<Slot, 2> slots_;
  std::mutex rotate_mu_;  // serialises clearing a slot for a new epoch
  std::atomic<std::uint64_t> records_{0};

  // The cached answer: written under cache_mu_, read lock-free through
  // cache_seq_ (odd while a write is in progress, 0 before the first).
  std::mutex cache_mu_;
  std::atomic<std::uint64_t> cache_seq_{0};
  std::atomic<double> cache_p_{0};
  std::atomic<std::int64_t> cache_ns_{0};
  std::atomic<std::uint64_t> cache_records_{0};
  std::atomic<std::int64_t> cache_epoch_{-1};
};

}  // namespace keel::resilience
