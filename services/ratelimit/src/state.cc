#include "keel/ratelimit/state.h"

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

}  // namespace keel::ratelimit
