// State: the 16 bytes a store keeps per (descriptor, limit), and the one entry
// point that applies hits to it with the limit's algorithm.
//
// Every algorithm keeps `expiry_ns` exact: from that instant on the state is
// equivalent to a fresh one (all-zero), so a store can expire and evict
// entries without knowing their limit, and an absent entry is simply State{}.
//
//   State state;                                       // fresh
//   Decision d = ApplyHits(limit, &state, 1, now_ns);  // consume one
//   Decision q = ApplyHits(limit, &state, 0, now_ns);  // peek: never consumes
//   ApplyHits(limit, &state, -1, now_ns);              // refund one
//
// Contract shared by all algorithms (see each header for the exact maths):
//  - hits > 0 consumes; the decision is all-or-nothing: an over-limit
//    decision consumes nothing.
//  - hits == 0 reports the current state and is always kOk.
//  - hits < 0 refunds (concurrency: releases), never past full capacity;
//    always kOk.
//  - *state is overwritten with the state after the decision. The caller may
//    instead keep the old state when the decision is kOverLimit or hits == 0:
//    both are equivalent (this is what makes multi-limit checks atomic).
//  - now_ns is absolute monotonic time (Clock::time_point's count), >= 0.
//    A now_ns slightly older than the state's last update (two threads that
//    read the clock in one order and apply in the other) is tolerated: it
//    is treated as falling in the latest window.
//  - Arithmetic is exact (128-bit intermediates). Every algorithm accepts a
//    state written by any other (a hash collision can do that) and still
//    answers within its own bounds.
//
// Thread-safety: pure functions; callers serialize access to one State.
#pragma once

#include <cstdint>

#include "keel/ratelimit/decision.h"
#include "keel/ratelimit/limit.h"

namespace keel::ratelimit {

struct State {
  std::int64_t expiry_ns = 0;  // the state is fresh from this instant on
  std::uint64_t word = 0;      // algorithm-specific
};
static_assert(sizeof(State) == 16);

inline bool IsExpired(const State& state, std::int64_t now_ns) { return now_ns >= state.expiry_ns; }

// Dispatches on limit.algorithm().
Decision ApplyHits(const Limit& limit, State* state, std::int64_t hits, std::int64_t now_ns);

}  // namespace keel::ratelimit
