#include "keel/ratelimit/store.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <new>
#include <sys/mman.h>

#include "keel/ratelimit/state.h"
#include "store_shard.h"

namespace keel::ratelimit {
namespace {

// Entries per slot at the cap: linear probing stays short below ~0.8.
constexpr double kMaxLoad = 0.8;

std::uint64_t TableKey(std::uint64_t key_hash, const Limit& limit) {
  std::uint64_t z = key_hash ^ limit.fingerprint();
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return z == 0 ? 1 : z;  // 0 marks empty slots
}

// Inserts v into the sorted, duplicate-free a[0, n); returns the new size.
std::size_t InsertSortedUnique(std::size_t* a, std::size_t n, std::size_t v) {
  std::size_t i = n;
  while (i > 0 && a[i - 1] > v) --i;
  if (i > 0 && a[i - 1] == v) return n;
  for (std::size_t j = n; j > i; --j) a[j] = a[j - 1];
  a[i] = v;
  return n + 1;
}

}  // namespace

// One anonymous mapping for every shard's slots, so that the table can sit
// on 2 MiB pages (a table of 1 M keys is 31 MiB: 8,000 4 KiB pages, several
// times what the TLB covers). Anonymous memory is zero: every slot empty.
struct Store::Table {
  static std::unique_ptr<Table> Create(std::size_t slots) {
    constexpr std::size_t kHugePage = std::size_t{2} << 20;
    const std::size_t want = slots * sizeof(Slot);
    // Small tables fit the TLB anyway: a huge page would only waste memory.
    const bool huge = want >= 2 * kHugePage;
    const std::size_t page = huge ? kHugePage : 4096;
    const std::size_t bytes = (want + page - 1) / page * page;
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    if (huge) (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice: without THP, 4 KiB pages
    return std::unique_ptr<Table>(new Table(static_cast<Slot*>(p), bytes));
  }
  ~Table() { munmap(slots, bytes); }

  Slot* const slots;
  const std::size_t bytes;

 private:
  Table(Slot* s, std::size_t b) : slots(s), bytes(b) {}
};
static_assert(std::is_trivially_destructible_v<Slot>);

StatusOr<std::unique_ptr<Store>> Store::Create(const StoreOptions& options) {
  if (options.max_keys == 0) return InvalidArgument("ratelimit store: max_keys must be >= 1");
  if (options.shards == 0 || options.shards > 65536 || !std::has_single_bit(options.shards)) {
    return InvalidArgument("ratelimit store: shards must be a power of two in [1, 65536]");
  }
  if (options.eviction_sample == 0) {
    return InvalidArgument("ratelimit store: eviction_sample must be >= 1");
  }
  const std::size_t per_shard = (options.max_keys + options.shards - 1) / options.shards;
  // Hashing spreads keys unevenly over shards: 5 % (+16) slack keeps the cap
  // from biting early in one shard (1 % standard deviation at 10 k per shard).
  const std::size_t max_entries = per_shard + per_shard / 20 + 16;
  const std::size_t slots =
      static_cast<std::size_t>(static_cast<double>(max_entries) / kMaxLoad) + 1;
  if (slots >= (std::size_t{1} << 32)) {
    return InvalidArgument("ratelimit store: max_keys too large for the shard count");
  }
  std::unique_ptr<Table> table = Table::Create(options.shards * slots);
  if (!table) return Unavailable("ratelimit store: cannot map the table");
  auto shards = std::make_unique<Shard[]>(options.shards);
  for (std::size_t i = 0; i < options.shards; ++i) {
    // All-zero bytes are an empty Slot: start each one's lifetime in place.
    Slot* first = std::launder(new (table->slots + i * slots) Slot[slots]);
    shards[i].Init(first, slots, max_entries, options.eviction_sample);
  }
  const std::size_t bytes = sizeof(Store) + sizeof(Table) + options.shards * sizeof(Shard) + table->bytes;
  return std::unique_ptr<Store>(new Store(std::move(table), std::move(shards), options.shards, slots, bytes));
}

Store::Store(std::unique_ptr<Table> table, std::unique_ptr<Shard[]> shards, std::size_t shard_count,
             std::size_t slots_per_shard, std::size_t memory_bytes)
    : table_(std::move(table)),
      shards_(std::move(shards)),
      shard_count_(shard_count),
      shard_shift_(64 - std::countr_zero(shard_count)),
      slots_per_shard_(slots_per_shard),
      memory_bytes_(memory_bytes) {}

Store::~Store() = default;

Decision Store::Apply(std::uint64_t key_hash, const Limit& limit, std::int64_t hits,
                      Clock::time_point now) {
  return ApplyAll(key_hash, std::span<const Limit>(&limit, 1), hits, now);
}

Decision Store::ApplyAll(std::uint64_t key_hash, std::span<const Limit> limits, std::int64_t hits,
                         Clock::time_point now, std::span<Decision> per_limit) {
  assert(!limits.empty() && limits.size() <= kMaxLimitsPerCall);
  assert(per_limit.empty() || per_limit.size() == limits.size());
  const std::size_t count = std::min(limits.size(), kMaxLimitsPerCall);
  const std::int64_t now_ns = now.time_since_epoch().count();

  std::array<std::uint64_t, kMaxLimitsPerCall> keys;
  std::array<std::size_t, kMaxLimitsPerCall> shard_of;
  std::array<std::size_t, kMaxLimitsPerCall> locked;  // sorted, unique
  std::size_t locked_count = 0;
  for (std::size_t i = 0; i < count; ++i) {
    keys[i] = TableKey(key_hash, limits[i]);
    // shard_shift_ is 64 for one shard: shifting by 64 is undefined.
    shard_of[i] = shard_count_ == 1 ? 0 : static_cast<std::size_t>(keys[i] >> shard_shift_);
    locked_count = InsertSortedUnique(locked.data(), locked_count, shard_of[i]);
  }
  // Locking in ascending shard order cannot deadlock against other calls.
  for (std::size_t i = 0; i < locked_count; ++i) shards_[locked[i]].mu().lock();

  std::array<Slot*, kMaxLimitsPerCall> found;
  std::array<State, kMaxLimitsPerCall> before;
  std::array<State, kMaxLimitsPerCall> states;
  std::array<Decision, kMaxLimitsPerCall> decisions;
  bool all_ok = true;
  for (std::size_t i = 0; i < count; ++i) {
    Shard& shard = shards_[shard_of[i]];
    found[i] = shard.Find(keys[i]);
    before[i] = states[i] = found[i] != nullptr ? found[i]->state : State{};
    if (found[i] != nullptr) ++shard.hits;
    decisions[i] = ApplyHits(limits[i], &states[i], hits, now_ns);
    ++shard.decisions;
    if (!decisions[i].ok()) {
      ++shard.over_limit;
      all_ok = false;
    }
  }
  if (!all_ok && count > 1) {
    // The passing limits are not charged: report them as they stand.
    for (std::size_t i = 0; i < count; ++i) {
      if (decisions[i].ok()) decisions[i] = ApplyHits(limits[i], &before[i], 0, now_ns);
    }
  }
  // Queries and denials leave the table as it was (state.h: equivalent).
  if (all_ok && hits != 0) {
    bool inserted = false;  // an insert can move entries: look them up again
    for (std::size_t i = 0; i < count; ++i) {
      Shard& shard = shards_[shard_of[i]];
      Slot* slot = inserted ? shard.Find(keys[i]) : found[i];
      if (slot == nullptr) {
        if (hits < 0) continue;  // a refund to an absent key changes nothing
        slot = shard.Insert(keys[i], now_ns);
        inserted = true;
      }
      slot->state = states[i];
    }
  }
  for (std::size_t i = locked_count; i > 0; --i) shards_[locked[i - 1]].mu().unlock();

  for (std::size_t i = 0; i < per_limit.size() && i < count; ++i) per_limit[i] = decisions[i];
  return CombineDecisions(std::span<const Decision>(decisions.data(), count));
}

std::size_t Store::Sweep(Clock::time_point now, std::size_t slots_per_shard) {
  const std::int64_t now_ns = now.time_since_epoch().count();
  std::size_t deleted = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu());
    deleted += shards_[i].Sweep(now_ns, slots_per_shard);
  }
  return deleted;
}

StoreStats Store::Stats() const {
  StoreStats stats;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu());
    shards_[i].AddTo(&stats);
  }
  stats.bytes = memory_bytes_;
  return stats;
}

}  // namespace keel::ratelimit
