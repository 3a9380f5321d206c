// GCRA (generic cell rate algorithm) with redis-cell's CL.THROTTLE semantics
// (github.com/brandur/redis-cell, src/cell/mod.rs):
//
//   T   = P / N truncated to whole ns      (emission interval)
//   tau = T * (max_burst + 1)              (delay variation tolerance)
//   tat = stored theoretical arrival time, or now when absent/past
//   new_tat = max(tat, now) + hits * T
//   allowed iff now >= new_tat - tau; then tat := new_tat
//
//   limit       = max_burst + 1            (burst M from config; default N - 1)
//   reset_after = tat - now after the decision (redis-cell's 5th reply)
//   remaining   = (tau - reset_after) / T truncated, when that difference is
//                 > -T, else 0 (computed in ns; redis-cell uses µs)
//   retry_after = new_tat - tau - now when denied; kNever when hits * T > tau
//                 (redis-cell answers -1 there); 0 when allowed
//
// Deliberate differences: a refund (hits < 0) cannot move tat below now, so
// remaining never exceeds limit; hits == 0 does not write the key.
//
// Accuracy: in any interval of length t at most (max_burst + 1) + t / T pass;
// the truncation of T makes it at most 1 ns per emission interval more
// permissive than N per P (relative error < N / P_ns).
//
// State: expiry_ns = tat, word unused (0).
#pragma once

#include "keel/ratelimit/state.h"

namespace keel::ratelimit {

Decision GcraApply(const Limit& limit, State* state, std::int64_t hits, std::int64_t now_ns);

}  // namespace keel::ratelimit
