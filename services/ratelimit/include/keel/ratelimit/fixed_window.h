// Fixed window counter: envoyproxy/ratelimit's default algorithm.
//
// Time is cut into windows [k*P, (k+1)*P) of the unit's length P, aligned to
// the clock's epoch. A window admits hits while its count + hits <= N
// (requests_per_unit); the count restarts at 0 in the next window.
//
//   limit       = N
//   remaining   = N - count
//   reset_after = end of window - now (0 when count is 0)
//   retry_after = end of window - now; kNever when hits > N
//
// Accuracy: exactly N per window. Known weakness (documented, by design): up
// to 2N may pass within one P that straddles a boundary (N at the end of one
// window, N at the start of the next).
//
// Difference from envoyproxy/ratelimit: Envoy INCRBYs before comparing, so
// denied hits are counted too; here a denied request consumes nothing (the
// admitted counts agree for hits of 1; they differ for hits_addend > 1).
//
// State: expiry_ns = end of window, word = count.
#pragma once

#include "keel/ratelimit/state.h"

namespace keel::ratelimit {

Decision FixedWindowApply(const Limit& limit, State* state, std::int64_t hits, std::int64_t now_ns);

}  // namespace keel::ratelimit
