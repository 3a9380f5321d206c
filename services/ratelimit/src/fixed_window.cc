#include "keel/ratelimit/fixed_window.h"

#include <algorithm>

#include "int128.h"

namespace keel::ratelimit {

Decision FixedWindowApply(const Limit& limit, State* state, std::int64_t hits,
                          std::int64_t now_ns) {
  const std::int64_t p = limit.period_ns();
  const std::uint64_t n = limit.requests_per_unit();
  std::int64_t end = state->expiry_ns;
  std::uint64_t count = state->word;
  if (now_ns >= end) {
    end = (now_ns / p + 1) * p;
    count = 0;
  }  // else: the current window (a late now_ns counts in the latest window)
  count = std::min(count, n);

  Decision d;
  d.limit = static_cast<std::uint32_t>(n);
  if (hits > 0 && static_cast<std::uint64_t>(hits) > n - count) {
    d.code = Code::kOverLimit;
    d.remaining = static_cast<std::uint32_t>(n - count);
    d.reset_after = count > 0 ? Ns(end - now_ns) : Duration(0);
    d.retry_after = static_cast<std::uint64_t>(hits) <= n ? Ns(end - now_ns) : kNever;
    return d;
  }
  if (hits > 0) {
    count += static_cast<std::uint64_t>(hits);
  } else if (hits < 0) {
    const std::uint64_t refund = static_cast<std::uint64_t>(-(hits + 1)) + 1;
    count = refund >= count ? 0 : count - refund;
  }
  state->expiry_ns = end;
  state->word = count;
  d.remaining = static_cast<std::uint32_t>(n - count);
  d.reset_after = count > 0 ? Ns(end - now_ns) : Duration(0);
  return d;
}

}  // namespace keel::ratelimit
