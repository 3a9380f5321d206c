#include "keel/ratelimit/state.h"

#include <algorithm>

#include "keel/ratelimit/concurrency.h"
#include "keel/ratelimit/fixed_window.h"
#include "keel/ratelimit/gcra.h"
#include "keel/ratelimit/sliding_window.h"
#include "keel/ratelimit/token_bucket.h"

namespace keel::ratelimit {

Decision ApplyHits(const Limit& limit, State* state, std::int64_t hits, std::int64_t now_ns) {
  switch (limit.algorithm()) {
    case Algorithm::kFixedWindow:
      return FixedWindowApply(limit, state, hits, now_ns);
    case Algorithm::kTokenBucket:
      return TokenBucketApply(limit, state, hits, now_ns);
    case Algorithm::kGcra:
      return GcraApply(limit, state, hits, now_ns);
    case Algorithm::kSlidingWindow:
      return SlidingWindowApply(limit, state, hits, now_ns);
    case Algorithm::kConcurrency:
      return ConcurrencyApply(limit, state, hits, now_ns);
  }
  return Decision{};  // unreachable: Limit::Create validates the algorithm
}

Decision CombineDecisions(std::span<const Decision> per_limit) {
  bool all_ok = true;
  for (const Decision& d : per_limit) all_ok = all_ok && d.ok();
  std::size_t pick = 0;
  for (std::size_t i = 0; i < per_limit.size(); ++i) {
    const Decision& d = per_limit[i];
    const Decision& best = per_limit[pick];
    if (all_ok ? d.remaining < best.remaining : (!d.ok() && best.ok())) pick = i;
  }
  Decision result = per_limit[pick];
  if (!all_ok) {
    for (const Decision& d : per_limit) {
      if (!d.ok()) result.retry_after = std::max(result.retry_after, d.retry_after);
    }
  }
  return result;
}

}  // namespace keel::ratelimit
