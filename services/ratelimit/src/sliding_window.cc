#include "keel/ratelimit/sliding_window.h"

#include <algorithm>

#include "int128.h"
#include "two_windows.h"

namespace keel::ratelimit {
namespace {

// The largest time left of a previous window holding `prev` hits at which
// floor(prev * left / p) <= k.
std::int64_t MaxLeft(std::uint64_t prev, std::uint64_t k, std::int64_t p) {
  if (prev == 0) return p;
  const int128 max_left = CeilDiv(int128(k + 1) * p, prev) - 1;
  return static_cast<std::int64_t>(std::min<int128>(max_left, p));
}

}  // namespace

Decision SlidingWindowApply(const Limit& limit, State* state, std::int64_t hits,
                            std::int64_t now_ns) {
  const std::int64_t p = limit.period_ns();
  const std::uint64_t n = limit.requests_per_unit();
  TwoWindows w = TwoWindows::Load(*state, p, now_ns, /*restart_at_now=*/true);
  w.prev = std::min(w.prev, n);
  w.cur = std::min(w.cur, n);
  // Time left of the previous window's weight; a late now_ns counts as the
  // window's start.
  const std::int64_t left = std::clamp<std::int64_t>(w.cur_end - now_ns, 0, p);
  // The weighted previous count, rounded down (exact integer maths).
  const std::uint64_t weighted = static_cast<std::uint64_t>(int128{w.prev} * left / p);
  const std::uint64_t used = std::min(weighted + w.cur, n);

  Decision d;
  d.limit = static_cast<std::uint32_t>(n);
  if (hits > 0 && static_cast<std::uint64_t>(hits) > n - used) {
    d.code = Code::kOverLimit;
    d.remaining = static_cast<std::uint32_t>(n - used);
    if (static_cast<std::uint64_t>(hits) > n) {
      d.retry_after = kNever;
    } else if (w.cur + static_cast<std::uint64_t>(hits) <= n) {
      const std::uint64_t k = n - w.cur - static_cast<std::uint64_t>(hits);
      d.retry_after = Ns(left - MaxLeft(w.prev, k, p));
    } else {
      // Only in the next window, where cur becomes the previous count.
      d.retry_after = Ns(left + p - MaxLeft(w.cur, n - static_cast<std::uint64_t>(hits), p));
    }
    d.reset_after = Ns(w.cur > 0 ? w.cur_end + p - now_ns : w.prev > 0 ? left : 0);
    return d;
  }
  if (hits > 0) {
    w.cur += static_cast<std::uint64_t>(hits);
  } else if (hits < 0) {
    // Refunds come out of the current window first, then the previous.
    std::uint64_t refund = static_cast<std::uint64_t>(-(hits + 1)) + 1;
    const std::uint64_t from_cur = std::min(refund, w.cur);
    w.cur -= from_cur;
    refund -= from_cur;
    w.prev -= std::min(refund, w.prev);
  }
  w.Store(state, p);
  const std::uint64_t weighted_after = static_cast<std::uint64_t>(int128{w.prev} * left / p);
  d.remaining = static_cast<std::uint32_t>(n - std::min(weighted_after + w.cur, n));
  d.reset_after = Ns(w.cur > 0 ? w.cur_end + p - now_ns : w.prev > 0 ? left : 0);
  return d;
}

}  // namespace keel::ratelimit
