// HotKeys: spots descriptors whose request rate is far above the typical
// descriptor's, so the Redis store can answer their over-limit decisions
// locally instead of sending every one of them to the one shard that holds
// the key (issue 11, "hot keys").
//
// Rates come from a count-min sketch (depth x width 32-bit counters, the
// minimum over rows is the estimate: never below the true count) whose
// counters are halved every `window`, so an estimate is about the key's
// requests in the last one to two windows. The typical rate is the median
// estimate of a uniform sample of distinct keys: the `sample` keys with the
// smallest hashes seen (a bottom-k sample, which weights every key once,
// however busy). A key is hot when its estimate is at least `min_count` and
// `factor` times that median. Nothing is hot before the first window has
// closed.
//
//   auto hot = HotKeys::Create({.factor = 10});
//   if ((*hot)->Record(key_hash, clock.Now())) { ... consult the cache ... }
//
// OverLimitCache keeps, for a short while, the over-limit answers given for
// hot keys. An over-limit decision consumes nothing and its retry_after is
// the earliest time the same request could pass if nothing else happens;
// other instances' traffic only pushes that time later. So answering
// OVER_LIMIT from the cache until min(retry_after, max_ttl) gives the answer
// the store would give, unless a refund or a reset lands meanwhile (then the
// key is denied up to max_ttl too long).
//
// Thread-safety: all methods of both classes are thread-safe. Record is a
// few relaxed atomic increments, plus a short lock when the key enters the
// sample (rare once the sample is full) and once per window for the decay.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/ratelimit/decision.h"

namespace keel::ratelimit {

struct HotKeysOptions {
  double factor = 10;           // hot at >= factor x the median estimate
  std::uint32_t min_count = 50; // ... and at least this many in the window
  Duration window = std::chrono::seconds(1);
  std::size_t width = 4096;     // counters per row, a power of two
  std::size_t depth = 4;        // rows, 1..8
  std::size_t sample = 64;      // distinct keys whose median is the typical rate
};

class HotKeys {
 public:
  // InvalidArgument for factor < 1, a zero window, width not a power of two
  // in [64, 2^24], depth outside 1..8 or sample outside 1..4096.
  static StatusOr<std::unique_ptr<HotKeys>> Create(const HotKeysOptions& options);

  // Counts one request for the key; true when the key is hot now.
  bool Record(std::uint64_t key_hash, Clock::time_point now);
  // The key's estimated requests in the current decay window (no count).
  std::uint32_t Estimate(std::uint64_t key_hash) const;
  // The median estimate over the sampled keys (0 when none yet).
  std::uint32_t TypicalCount() const;

 private:
  explicit HotKeys(const HotKeysOptions& options);
  void MaybeDecay(Clock::time_point now);
  void Sample(std::uint64_t key_hash);
  std::uint32_t Threshold();
  std::size_t Index(std::uint64_t key_hash, std::size_t row) const;

  const HotKeysOptions options_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> counters_;  // depth x width
  std::atomic<std::int64_t> window_end_ns_{0};
  // Hot threshold, recomputed at most once per 1/16 window.
  std::atomic<std::uint32_t> threshold_{0};
  std::atomic<std::int64_t> threshold_at_ns_{0};
  // Admits a key to the sample only below this hash (max while not full).
  std::atomic<std::uint64_t> sample_bound_{~std::uint64_t{0}};
  mutable std::mutex sample_mu_;
  std::vector<std::uint64_t> sample_;  // GUARDED_BY(sample_mu_); a max-heap
};

// A small direct-mapped cache of over-limit decisions by key hash.
class OverLimitCache {
 public:
  // `slots`: a power of two >= 16; entries live at most max_ttl.
  OverLimitCache(std::size_t slots, Duration max_ttl);

  // The cached decision for the key if one is live at `now`, with its
  // retry_after and reset_after counted down to `now`.
  bool Lookup(std::uint64_t key_hash, Clock::time_point now, Decision* decision) const;
  // Keeps an over-limit decision (others are ignored) until
  // now + min(retry_after, max_ttl). kNever is kept for max_ttl.
  void Insert(std::uint64_t key_hash, const Decision& decision, Clock::time_point now);

 private:
  struct Slot {
    std::uint64_t key = 0;
    std::int64_t until_ns = 0;  // 0: empty
    std::int64_t at_ns = 0;     // when the decision was made
    Decision decision;
  };
  static constexpr std::size_t kStripes = 16;
  std::size_t SlotOf(std::uint64_t key_hash) const { return key_hash & (slots_.size() - 1); }

  const Duration max_ttl_;
  std::vector<Slot> slots_;  // GUARDED_BY(mu_[slot % kStripes])
  mutable std::array<std::mutex, kStripes> mu_;
};

}  // namespace keel::ratelimit
