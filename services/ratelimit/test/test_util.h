// Helpers shared by the ratelimit tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

#include "keel/ratelimit/limit.h"
#include "keel/ratelimit/state.h"

namespace keel::ratelimit::testing {

inline constexpr std::int64_t kMs = 1'000'000;
inline constexpr std::int64_t kSec = 1'000'000'000;
// Tests start far from the clock's epoch, on a boundary of every unit up to
// a week (two weeks past the epoch).
inline constexpr std::int64_t kStart = 14 * 86400 * kSec;

inline Limit MakeLimit(Algorithm algorithm, Unit unit, std::uint32_t n,
                       std::optional<std::uint32_t> burst = std::nullopt,
                       std::optional<Duration> lease_ttl = std::nullopt) {
  StatusOr<Limit> limit = Limit::Create({algorithm, unit, n, burst, lease_ttl});
  EXPECT_TRUE(limit.ok()) << limit.status().message();
  return *limit;
}

// One key's state, driven the way a store drives it: state is kept only for
// kOk decisions with hits != 0.
class Key {
 public:
  explicit Key(Limit limit) : limit_(limit) {}
  Decision Hit(std::int64_t hits, std::int64_t now_ns) {
    State next = state_;
    Decision d = ApplyHits(limit_, &next, hits, now_ns);
    if (d.ok() && hits != 0) state_ = next;
    return d;
  }
  const State& state() const { return state_; }

 private:
  Limit limit_;
  State state_;
};

inline std::int64_t Ns(Duration d) { return d.count(); }

}  // namespace keel::ratelimit::testing
