// Token bucket: a bucket of capacity C (burst, default N) refilled at N tokens
// per unit P; hits pass when at least `hits` tokens are in the bucket.
//
// The state is the instant at which the bucket will be full again (`full_at`),
// so tokens(now) = C - (full_at - now) * N / P. Refill is therefore
// continuous and exact: no per-tick rounding, no timer.
//
//   limit       = C
//   remaining   = floor(tokens) after the decision
//   reset_after = full_at - now (time until the bucket is full)
//   retry_after = exact time until tokens >= hits; kNever when hits > C
//
// Accuracy: in any interval of length t at most C + t * N / P hits pass; the
// debt added per admitted token is rounded up to whole ns, so the limiter is
// never more permissive than the ideal bucket and is at most 1 ns per admitted
// token stricter. At 2x overload for 10 s with C = N: admitted = N + 10N.
//
// State: expiry_ns = full_at, word unused (0).
#pragma once

#include "keel/ratelimit/state.h"

namespace keel::ratelimit {

Decision TokenBucketApply(const Limit& limit, State* state, std::int64_t hits, std::int64_t now_ns);

}  // namespace keel::ratelimit
