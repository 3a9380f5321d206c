// Concurrency limit: at most N leases in flight. hits > 0 acquires that many
// leases, hits < 0 releases, hits == 0 queries.
//
// Leases are not tracked one by one (that would cost memory per request).
// Instead time is cut into generations of the lease TTL L, aligned to the
// clock's epoch; the state counts leases acquired in the current and the
// previous generation. When a generation ends, the one before it is dropped:
// a lease whose release was lost frees its slot after at least L and at most
// 2L. Releases are taken from the older generation first (requests mostly
// finish in the order they started).
//
//   limit       = N
//   remaining   = N - in flight
//   reset_after = time until every current lease has expired unreleased
//   retry_after = time until enough leases expire unreleased; kNever when
//                 hits > N
//
// Accuracy: exact while requests are shorter than L and releases are not
// lost. Choose L above the longest request: a request running past its
// lease's expiry no longer counts, letting one more request in.
//
// State: expiry_ns = current generation end + L, word = prev << 32 | cur.
#pragma once

#include "keel/ratelimit/state.h"

namespace keel::ratelimit {

Decision ConcurrencyApply(const Limit& limit, State* state, std::int64_t hits, std::int64_t now_ns);

}  // namespace keel::ratelimit
