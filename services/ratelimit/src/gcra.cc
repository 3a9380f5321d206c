#include "keel/ratelimit/gcra.h"

#include <algorithm>

#include "int128.h"

namespace keel::ratelimit {

// Follows redis-cell's RateLimiter::rate_limit step by step.
Decision GcraApply(const Limit& limit, State* state, std::int64_t hits, std::int64_t now_ns) {
  const int128 t = limit.emission_interval_ns();
  const int128 tau = t * limit.capacity();
  const int128 now = now_ns;
  const int128 tat = std::max<int128>(state->expiry_ns, now);
  const int128 increment = t * hits;
  const int128 new_tat = tat + increment;  // tat >= now already
  const int128 allow_at = new_tat - tau;

  Decision d;
  d.limit = limit.capacity();
  int128 ttl;
  if (now < allow_at) {
    d.code = Code::kOverLimit;
    d.retry_after = increment <= tau ? Ns(ClampToInt64(allow_at - now)) : kNever;
    ttl = tat - now;
  } else {
    // A refund cannot move tat below now: remaining stays <= limit.
    const int128 stored = std::max(new_tat, now);
    if (hits != 0) state->expiry_ns = ClampToInt64(stored);
    state->word = 0;
    ttl = stored - now;
  }
  const int128 next = tau - ttl;
  d.remaining = next > -t ? ClampToUint32(next / t) : 0;
  d.reset_after = Ns(ClampToInt64(ttl));
  return d;
}

}  // namespace keel::ratelimit
