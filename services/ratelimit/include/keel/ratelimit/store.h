// Store: the embedded, sharded table of rate-limit state.
//
// Each (descriptor, limit) pair has one 16-byte State in an open-addressing
// table (linear probing, 24-byte slots, backward-shift deletion, at most 80 %
// full). The table
// is split into shards selected by the key's high bits, each with its own
// mutex, so threads contend only when they hit the same shard at once; there
// is no global lock. All memory is allocated by Create(): the decision path
// never allocates.
//
//   StoreOptions options;
//   options.max_keys = 1'000'000;
//   std::unique_ptr<Store> store = *Store::Create(options);
//   Limit per_minute = *Limit::Create({Algorithm::kGcra, Unit::kMinute, 30, 15});
//   std::uint64_t key = HashDescriptor("edge", entries);
//   Decision d = store->Apply(key, per_minute, 1, clock.Now());
//
//   // Several limits on one descriptor: all must pass, a denial consumes
//   // from none of them.
//   Limit limits[] = {per_second, per_minute};
//   Decision per_limit[2];
//   Decision d = store->ApplyAll(key, limits, 1, clock.Now(), per_limit);
//
// Keys. The table key is a 64-bit mix of the caller's descriptor hash and
// Limit::fingerprint(); only the key is stored, not the descriptor. Two
// different pairs collide with probability about n^2 / 2^65 for n live keys
// (2.7e-6 at 10 M keys, 5e-14 at 10 k). A collision makes the two pairs share
// one State: both are limited by their combined traffic (denied early, never
// admitted beyond either limit by the algorithms' own maths), and a state
// written by another algorithm is read as valid if odd state; nothing crashes.
//
// Expiry. An entry whose State is expired (State::expiry_ns <= now) is the
// same as an absent one. Expired entries are reused in place when a new key
// probes past them, and Sweep() deletes them; call it periodically (e.g. every
// 100 ms with a slot budget) so expired keys do not occupy the cap.
//
// Capacity. The table holds at most about max_keys entries (the cap is split
// evenly over shards, plus 5 % slack for uneven hashing). Inserting into a
// full shard first reuses an expired slot on the probe path, else evicts the
// entry expiring soonest among `eviction_sample` entries near the new key's
// home slot (an approximation of "soonest expiry first", like Redis's
// volatile-ttl sampling). An evicted key starts over from fresh state, so
// under memory pressure the store errs towards admitting.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/ratelimit/decision.h"
#include "keel/ratelimit/limit.h"
#include "keel/ratelimit/store_stats.h"

namespace keel::ratelimit {

struct StoreOptions {
  std::size_t max_keys = 1 << 20;   // cap on live entries, >= 1
  std::size_t shards = 64;          // a power of two, 1 .. 65536
  std::size_t eviction_sample = 8;  // entries examined to choose a victim, >= 1
};

class Store {
 public:
  // ApplyAll takes at most this many limits per call.
  static constexpr std::size_t kMaxLimitsPerCall = 8;

  // Allocates the whole table: 24-byte slots for (max_keys * 1.05 + 16 per
  // shard) / 0.8 entries, about 31.5 B per key of cap (MemoryBytes() reports
  // the exact figure), in one mapping that asks for transparent huge pages
  // (madvise(MADV_HUGEPAGE)): a table of many MiB probed at random would
  // otherwise miss the TLB on most lookups.
  // InvalidArgument on bad options.
  static StatusOr<std::unique_ptr<Store>> Create(const StoreOptions& options);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies `hits` (> 0 consume, 0 query, < 0 refund) of the descriptor
  // `key_hash` to `limit` at `now`. See state.h for the shared semantics and
  // each algorithm's header for the exact maths. Never allocates.
  Decision Apply(std::uint64_t key_hash, const Limit& limit, std::int64_t hits,
                 Clock::time_point now);

  // Applies `hits` to every limit, atomically: the shards involved are locked
  // (in a fixed order) while all limits are evaluated, and state is written
  // only if every limit passes. A request denied by any limit consumes from
  // none. Returns the combined decision: when denied, the first denying
  // limit's decision with retry_after the largest among the denying limits;
  // otherwise the passing decision with the least remaining. If `per_limit`
  // is not empty it receives each limit's own decision.
  // REQUIRES: 1 <= limits.size() <= kMaxLimitsPerCall; no limit twice
  //           (equal fingerprints share one state, and the second write
  //           would win); per_limit.empty() || per_limit.size() == limits.size().
  Decision ApplyAll(std::uint64_t key_hash, std::span<const Limit> limits, std::int64_t hits,
                    Clock::time_point now, std::span<Decision> per_limit = {});

  // Deletes expired entries, examining up to `slots_per_shard` slots of each
  // shard from where the previous call stopped. Returns entries deleted.
  std::size_t Sweep(Clock::time_point now, std::size_t slots_per_shard);

  // Snapshot of the counters and gauges; locks each shard briefly.
  StoreStats Stats() const;
  // Bytes the store owns (table, shards, this object). Constant after Create.
  std::size_t MemoryBytes() const { return memory_bytes_; }
  // Slots in each shard's table (what a full Sweep pass examines per shard).
  std::size_t SlotsPerShard() const { return slots_per_shard_; }

 private:
  class Shard;
  struct Table;  // the slots of every shard, one mapping
  Store(std::unique_ptr<Table> table, std::unique_ptr<Shard[]> shards, std::size_t shard_count,
        std::size_t slots_per_shard, std::size_t memory_bytes);

  std::unique_ptr<Table> table_;
  std::unique_ptr<Shard[]> shards_;
  const std::size_t shard_count_;
  const int shard_shift_;  // shard = key >> shard_shift_
  const std::size_t slots_per_shard_;
  const std::size_t memory_bytes_;
};

}  // namespace keel::ratelimit
