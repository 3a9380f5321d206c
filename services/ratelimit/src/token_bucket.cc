#include "keel/ratelimit/token_bucket.h"

#include <algorithm>

#include "int128.h"

namespace keel::ratelimit {

Decision TokenBucketApply(const Limit& limit, State* state, std::int64_t hits,
                          std::int64_t now_ns) {
  const int128 p = limit.period_ns();
  const int128 n = limit.requests_per_unit();
  const int128 c = limit.capacity();
  // Debt: how long until the bucket is full. tokens = c - debt * n / p.
  const int128 max_debt = c * p / n;
  const int128 debt = std::clamp<int128>(int128{state->expiry_ns} - now_ns, 0, max_debt);

  Decision d;
  d.limit = limit.capacity();
  if (hits > 0 && debt * n + int128{hits} * p > c * p) {
    d.code = Code::kOverLimit;
    d.remaining = ClampToUint32((c * p - debt * n) / p);
    d.reset_after = Ns(ClampToInt64(debt));
    d.retry_after =
        hits > c ? kNever : Ns(ClampToInt64(CeilDiv(debt * n + int128{hits} * p - c * p, n)));
    return d;
  }
  int128 new_debt = debt;
  if (hits > 0) {
    new_debt += CeilDiv(int128{hits} * p, n);  // rounding up: never more permissive
  } else if (hits < 0) {
    new_debt = std::max<int128>(0, debt - (-int128{hits}) * p / n);
  }
  state->expiry_ns = ClampToInt64(now_ns + new_debt);
  state->word = 0;
  d.remaining = ClampToUint32((c * p - new_debt * n) / p);
  d.reset_after = Ns(ClampToInt64(new_debt));
  return d;
}

}  // namespace keel::ratelimit
