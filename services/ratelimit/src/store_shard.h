// Store::Shard: one lock-striped open-addressing table (linear probing,
// backward-shift deletion, key 0 marks an empty slot). Any slot count works:
// the home slot is the key's low 32 bits scaled to the table (Lemire's
// multiply-shift), so tables are sized to the cap, not to a power of two.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "keel/ratelimit/state.h"
#include "keel/ratelimit/store.h"
#include "keel/ratelimit/store_stats.h"

namespace keel::ratelimit {

struct Slot {
  std::uint64_t key = 0;  // 0: empty
  State state;
};
static_assert(sizeof(Slot) == 24);

class alignas(64) Store::Shard {
 public:
  Shard() = default;
  // Uses slots[0, count) (count < 2^32, all empty; the Store owns them);
  // holds at most max_entries < count.
  void Init(Slot* slots, std::size_t count, std::size_t max_entries, std::size_t eviction_sample);

  std::mutex& mu() const { return mu_; }

  // All below REQUIRE mu() held.
  // The slot holding `key` (possibly expired), or nullptr.
  Slot* Find(std::uint64_t key);
  // A slot for `key`, which must be absent, making room as store.h describes.
  // Its state is fresh.
  Slot* Insert(std::uint64_t key, std::int64_t now_ns);
  std::size_t Sweep(std::int64_t now_ns, std::size_t budget);
  void AddTo(StoreStats* stats) const;

  // Counters bumped by the store under mu().
  std::uint64_t decisions = 0;
  std::uint64_t over_limit = 0;
  std::uint64_t hits = 0;

 private:
  std::size_t Home(std::uint64_t key) const {
    return static_cast<std::size_t>(((key & 0xffffffffULL) * size_) >> 32);
  }
  std::size_t Next(std::size_t i) const { return i + 1 == size_ ? 0 : i + 1; }
  void EraseAt(std::size_t i);
  // The occupied slot expiring soonest among the first sample_ from `from` on.
  std::size_t PickVictim(std::size_t from) const;

  mutable std::mutex mu_;
  Slot* slots_ = nullptr;  // GUARDED_BY(mu_), like everything below
  std::size_t size_ = 0;
  std::size_t max_entries_ = 0;
  std::size_t sample_ = 1;
  std::size_t entries_ = 0;
  std::size_t sweep_cursor_ = 0;
  std::uint64_t inserts_ = 0;
  std::uint64_t expired_ = 0;
  std::uint64_t evictions_ = 0;
};

}  // namespace keel::ratelimit
