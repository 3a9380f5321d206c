// StoreStats: the store's counters and gauges, declared once in
// KEEL_RATELIMIT_STORE_STATS so that the struct, iteration for exporters and
// tests all come from one list.
//
//   StoreStats s = store.Stats();
//   EXPECT_EQ(s.evictions, 0u);
//   s.ForEach([&](std::string_view name, std::string_view help, StatKind kind,
//                 std::uint64_t value) { /* register keel_ratelimit_store_<name> */ });
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string_view>

namespace keel::ratelimit {

// COUNTER(name, help) / GAUGE(name, help)
#define KEEL_RATELIMIT_STORE_STATS(COUNTER, GAUGE)                                        \
  COUNTER(decisions, "Limits evaluated (one per limit of each Apply/ApplyAll call).")     \
  COUNTER(over_limit, "Limits that denied their request.")                                \
  COUNTER(hits, "Lookups that found the key's entry in the table.")                       \
  COUNTER(inserts, "Entries created for keys that had none.")                             \
  COUNTER(expired, "Expired entries deleted by Sweep or reused for another key.")         \
  COUNTER(evictions, "Live entries evicted to make room because a shard was at its cap.") \
  GAUGE(entries, "Entries in the table, including expired ones not yet swept.")           \
  GAUGE(capacity, "Maximum entries (the configured cap, with per-shard slack).")          \
  GAUGE(bytes, "Bytes of memory the store owns.")

enum class StatKind { kCounter, kGauge };

struct StoreStats {
#define KEEL_RATELIMIT_STAT_FIELD(name, help) std::uint64_t name = 0;
  KEEL_RATELIMIT_STORE_STATS(KEEL_RATELIMIT_STAT_FIELD, KEEL_RATELIMIT_STAT_FIELD)
#undef KEEL_RATELIMIT_STAT_FIELD

  // fn(name, help, kind, value) for every stat, in declaration order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
#define KEEL_RATELIMIT_STAT_COUNTER(name, help) fn(#name, help, StatKind::kCounter, name);
#define KEEL_RATELIMIT_STAT_GAUGE(name, help) fn(#name, help, StatKind::kGauge, name);
    KEEL_RATELIMIT_STORE_STATS(KEEL_RATELIMIT_STAT_COUNTER, KEEL_RATELIMIT_STAT_GAUGE)
#undef KEEL_RATELIMIT_STAT_COUNTER
#undef KEEL_RATELIMIT_STAT_GAUGE
  }
};

}  // namespace keel::ratelimit
