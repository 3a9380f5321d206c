#include "store_shard.h"

namespace keel::ratelimit {

void Store::Shard::Init(Slot* slots, std::size_t count, std::size_t max_entries,
                        std::size_t eviction_sample) {
  slots_ = slots;
  size_ = count;
  max_entries_ = max_entries;
  sample_ = eviction_sample;
}

Slot* Store::Shard::Find(std::uint64_t key) {
  for (std::size_t i = Home(key);; i = Next(i)) {
    Slot& s = slots_[i];
    if (s.key == key) return &s;
    if (s.key == 0) return nullptr;
  }
}

Slot* Store::Shard::Insert(std::uint64_t key, std::int64_t now_ns) {
  const std::size_t home = Home(key);
  std::size_t i = home;
  std::size_t chain = 0;  // occupied slots from home: all on key's probe path
  Slot* reusable = nullptr;
  for (; slots_[i].key != 0; i = Next(i), ++chain) {
    if (reusable == nullptr && IsExpired(slots_[i].state, now_ns)) reusable = &slots_[i];
  }
  ++inserts_;
  Slot* target = &slots_[i];
  if (reusable != nullptr) {
    ++expired_;
    target = reusable;
  } else if (entries_ < max_entries_) {
    ++entries_;
  } else {
    ++evictions_;
    const std::size_t victim = PickVictim(home);
    if ((victim >= home ? victim - home : victim + size_ - home) < chain) {
      target = &slots_[victim];  // on the probe path: take it in place
    } else {
      // Past the empty slot that ends the path: deleting it shifts only
      // entries after it, so slots_[i] stays empty.
      EraseAt(victim);
      ++entries_;
    }
  }
  target->key = key;
  target->state = State{};
  return target;
}

std::size_t Store::Shard::PickVictim(std::size_t from) const {
  std::size_t victim = from;
  bool found = false;
  std::size_t taken = 0;
  std::size_t i = from;
  for (std::size_t step = 0; step < size_ && taken < sample_; ++step, i = Next(i)) {
    if (slots_[i].key == 0) continue;
    ++taken;
    if (!found || slots_[i].state.expiry_ns < slots_[victim].state.expiry_ns) victim = i;
    found = true;
  }
  return victim;
}

void Store::Shard::EraseAt(std::size_t i) {
  if (slots_[i].key == 0) return;
  --entries_;
  // Backward shift: move later entries of the cluster into the hole when the
  // hole is on their probe path, so lookups never need tombstones.
  for (std::size_t j = Next(i); slots_[j].key != 0; j = Next(j)) {
    const std::size_t home = Home(slots_[j].key);
    const bool stays = (j > i) ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Slot{};
}

std::size_t Store::Shard::Sweep(std::int64_t now_ns, std::size_t budget) {
  std::size_t deleted = 0;
  // Erasing does not use the budget: deletions are bounded by the entries.
  for (std::size_t visited = 0; visited < budget && visited < size_;) {
    Slot& s = slots_[sweep_cursor_];
    if (s.key != 0 && IsExpired(s.state, now_ns)) {
      EraseAt(sweep_cursor_);  // a later entry may shift in: look again
      ++deleted;
      ++expired_;
      continue;
    }
    sweep_cursor_ = Next(sweep_cursor_);
    ++visited;
  }
  return deleted;
}

void Store::Shard::AddTo(StoreStats* stats) const {
  stats->decisions += decisions;
  stats->over_limit += over_limit;
  stats->hits += hits;
  stats->inserts += inserts_;
  stats->expired += expired_;
  stats->evictions += evictions_;
  stats->entries += entries_;
  stats->capacity += max_entries_;
}

}  // namespace keel::ratelimit
