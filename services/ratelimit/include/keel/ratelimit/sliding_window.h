// Sliding window counter (weighted previous + current window, as described by
// Cloudflare): consecutive windows of length P, with the previous window's
// count weighted by the part of it still inside the sliding window
// [now - P, now):
//
//   estimate = floor(prev * (P - elapsed) / P) + cur   elapsed = now - window start
//
// Hits pass when estimate + hits <= N (exact integer maths). Rounding the
// weighted part down means a saturated key gets exactly N per window (with
// the exact fraction it would lose up to one hit per window, 10 % at N = 10),
// at the price of at most one hit above N in a sliding interval.
//
//   limit       = N
//   remaining   = N - estimate after the decision
//   reset_after = time until both windows' counts have aged out
//   retry_after = exact time until estimate + hits <= N with no new traffic;
//                 kNever when hits > N
//
// Windows are phased per key: a key idle for 2P (or new) starts its first
// window at its first hit, rather than at an epoch-aligned boundary. That
// removes the cold-start error of aligned windows (traffic starting mid-window
// crowds the whole first count into the window's end, which the uniform
// weighting underestimates: up to +N/2, i.e. +5 % over 10 P at 2x load).
//
// Accuracy: a window alone never exceeds N. The estimate assumes the
// previous window's hits were spread evenly; for arrivals at a constant rate
// (e.g. 2N per P, cold or warm) admitted counts are N per window, matching N
// per P within 1 %, and every sliding interval of length P holds <= N + 1
// (tested). The adversarial
// worst case (all of the previous window's hits at its very end, e.g. after a
// pause shorter than 2P) lets up to 2N pass within one sliding P, but never
// more than N within one window.
//
// State: expiry_ns = current window end + P, word = prev << 32 | cur.
#pragma once

#include "keel/ratelimit/state.h"

namespace keel::ratelimit {

Decision SlidingWindowApply(const Limit& limit, State* state, std::int64_t hits,
                            std::int64_t now_ns);

}  // namespace keel::ratelimit
