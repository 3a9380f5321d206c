#include "keel/ratelimit/concurrency.h"

#include <algorithm>

#include "int128.h"
#include "two_windows.h"

namespace keel::ratelimit {

Decision ConcurrencyApply(const Limit& limit, State* state, std::int64_t hits,
                          std::int64_t now_ns) {
  const std::int64_t ttl = limit.period_ns();
  const std::uint64_t n = limit.requests_per_unit();
  TwoWindows w = TwoWindows::Load(*state, ttl, now_ns, /*restart_at_now=*/false);
  w.prev = std::min(w.prev, n);
  w.cur = std::min(w.cur, n - w.prev);
  const std::int64_t prev_left = std::max<std::int64_t>(w.cur_end - now_ns, 0);

  Decision d;
  d.limit = static_cast<std::uint32_t>(n);
  if (hits > 0 && static_cast<std::uint64_t>(hits) > n - w.prev - w.cur) {
    d.code = Code::kOverLimit;
    d.remaining = static_cast<std::uint32_t>(n - w.prev - w.cur);
    if (static_cast<std::uint64_t>(hits) > n) {
      d.retry_after = kNever;
    } else if (static_cast<std::uint64_t>(hits) <= n - w.cur) {
      d.retry_after = Ns(prev_left);  // the previous generation's leases expire
    } else {
      d.retry_after = Ns(prev_left + ttl);
    }
    d.reset_after = Ns(w.cur > 0 ? prev_left + ttl : w.prev > 0 ? prev_left : 0);
    return d;
  }
  if (hits > 0) {
    w.cur += static_cast<std::uint64_t>(hits);
  } else if (hits < 0) {
    std::uint64_t release = static_cast<std::uint64_t>(-(hits + 1)) + 1;
    const std::uint64_t from_prev = std::min(release, w.prev);  // oldest first
    w.prev -= from_prev;
    release -= from_prev;
    w.cur -= std::min(release, w.cur);
  }
  w.Store(state, ttl);
  d.remaining = static_cast<std::uint32_t>(n - w.prev - w.cur);
  d.reset_after = Ns(w.cur > 0 ? prev_left + ttl : w.prev > 0 ? prev_left : 0);
  return d;
}

}  // namespace keel::ratelimit
