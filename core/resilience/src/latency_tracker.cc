#include "keel/resilience/latency_tracker.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace keel::resilience {

LatencyTracker::LatencyTracker(const Clock& clock, LatencyTrackerOptions options)
    : clock_(clock), options_(options) {}

int LatencyTracker::BucketFor(std::int64_t micros) {
  constexpr std::int64_t kTop = (std::int64_t{1} << 26) - 1;
  const auto v = static_cast<std::uint64_t>(std::clamp<std::int64_t>(micros, 0, kTop));
  if (v < kSubBuckets) return static_cast<int>(v);
  // Octave k holds [2^k, 2^(k+1)); its top 5 bits after the leading one pick
  // one of 32 sub-buckets, each 1/32 of the octave's lower bound wide.
  const int k = std::bit_width(v) - 1;
  const int sub = static_cast<int>(v >> (k - 5)) - kSubBuckets;
  return kSubBuckets + (k - 5) * kSubBuckets + sub;
}

double LatencyTracker::BucketValue(int bucket) {
  if (bucket < kSubBuckets) return bucket + 0.5;
  const int octave = (bucket - kSubBuckets) / kSubBuckets;
  const int sub = (bucket - kSubBuckets) % kSubBuckets;
  const double width = std::ldexp(1.0, octave);
  return (kSubBuckets + sub) * width + width / 2;
}

std::int64_t LatencyTracker::EpochAt(Clock::time_point t) const {
  return t.time_since_epoch() / options_.interval;
}

LatencyTracker::Slot& LatencyTracker::SlotFor(std::int64_t epoch) {
  Slot& slot = slots_[static_cast<std::size_t>(epoch & 1)];
  if (slot.epoch.load(std::memory_order_acquire) == epoch) return slot;
  // First record of a new interval: the slot still holds the interval before
  // the previous one (or older), which has aged out.
  std::lock_guard<std::mutex> lock(rotate_mu_);
  if (slot.epoch.load(std::memory_order_relaxed) < epoch) {
    for (auto& c : slot.counts) c.store(0, std::memory_order_relaxed);
    slot.total.store(0, std::memory_order_relaxed);
    slot.epoch.store(epoch, std::memory_order_release);
  }
  return slot;
}

void LatencyTracker::Record(Clock::duration latency) {
  const std::int64_t epoch = EpochAt(clock_.Now());
  Slot& slot = SlotFor(epoch);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
  slot.counts[static_cast<std::size_t>(BucketFor(micros))].fetch_add(1, std::memory_order_relaxed);
  slot.total.fetch_add(1, std::memory_order_relaxed);
  records_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t LatencyTracker::WindowCount() const {
  const std::int64_t epoch = EpochAt(clock_.Now());
  std::uint64_t n = 0;
  for (const Slot& s : slots_) {
    const std::int64_t e = s.epoch.load(std::memory_order_acquire);
    if (e == epoch || e == epoch - 1) n += s.total.load(std::memory_order_relaxed);
  }
  return n;
}

std::optional<Clock::duration> LatencyTracker::Compute(double p, std::int64_t epoch) const {
  const Slot* live[2] = {nullptr, nullptr};
  std::uint64_t total = 0;
  for (int i = 0; i < 2; ++i) {
    const std::int64_t e = slots_[i].epoch.load(std::memory_order_acquire);
    if (e == epoch || e == epoch - 1) {
      live[i] = &slots_[i];
      total += slots_[i].total.load(std::memory_order_relaxed);
    }
  }
  if (total < options_.min_samples || total == 0) return std::nullopt;
  const auto rank = std::max<std::uint64_t>(
      1,
      static_cast<std::uint64_t>(std::ceil(std::clamp(p, 0.0, 1.0) * static_cast<double>(total))));
  std::uint64_t seen = 0;
  int bucket = kBuckets - 1;
  for (int b = 0; b < kBuckets; ++b) {
    for (const Slot* s : live) {
      if (s != nullptr)
        seen += s->counts[static_cast<std::size_t>(b)].load(std::memory_order_relaxed);
    }
    if (seen >= rank) {
      bucket = b;
      break;
    }
  }
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::micro>(BucketValue(bucket)));
}

std::optional<Clock::duration> LatencyTracker::Percentile(double p) {
  const std::int64_t epoch = EpochAt(clock_.Now());
  // Lock-free read of the cache, validated by a sequence number (seqlock):
  // an odd or changed sequence means a recomputation raced with the read.
  const std::uint64_t seq = cache_seq_.load(std::memory_order_acquire);
  if (seq % 2 == 0 && seq != 0) {
    const double cp = cache_p_.load(std::memory_order_relaxed);
    const std::int64_t ce = cache_epoch_.load(std::memory_order_relaxed);
    const std::uint64_t cr = cache_records_.load(std::memory_order_relaxed);
    const std::int64_t ns = cache_ns_.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (cache_seq_.load(std::memory_order_relaxed) == seq && cp == p && ce == epoch &&
        records_.load(std::memory_order_relaxed) - cr < options_.recompute_every) {
      return Clock::duration(ns);
    }
  }
  std::lock_guard<std::mutex> lock(cache_mu_);
  const std::uint64_t records = records_.load(std::memory_order_relaxed);
  std::optional<Clock::duration> v = Compute(p, epoch);
  // Below min_samples the answer may change with every record, so it is not
  // cached: callers fall back to their static default meanwhile.
  if (!v.has_value()) return v;
  const std::uint64_t s = cache_seq_.load(std::memory_order_relaxed);
  cache_seq_.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  cache_p_.store(p, std::memory_order_relaxed);
  cache_ns_.store(v->count(), std::memory_order_relaxed);
  cache_records_.store(records, std::memory_order_relaxed);
  cache_epoch_.store(epoch, std::memory_order_relaxed);
  cache_seq_.store(s + 2, std::memory_order_release);
  return v;
}

}  // namespace keel::resilience
