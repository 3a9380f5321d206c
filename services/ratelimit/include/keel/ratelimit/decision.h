// Decision: the answer to "may these hits pass this limit now?".
//
// It maps field for field onto Envoy RLS's RateLimitResponse.DescriptorStatus:
//   code        -> code (OK / OVER_LIMIT)
//   limit       -> current_limit.requests_per_unit (for GCRA: max_burst + 1)
//   remaining   -> limit_remaining
//   reset_after -> duration_until_reset
// and carries retry_after for HTTP Retry-After / redis-cell's 4th reply.
//
// Thread-safety: a value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

namespace keel::ratelimit {

using Duration = std::chrono::nanoseconds;

// retry_after when waiting cannot help (the hits exceed the limit's capacity).
inline constexpr Duration kNever = Duration::max();

enum class Code : std::uint8_t { kOk = 0, kOverLimit = 1 };

struct Decision {
  Code code = Code::kOk;
  // The limit's capacity as reported to clients (see each algorithm).
  std::uint32_t limit = 0;
  // Hits that would still pass right now, after this decision.
  std::uint32_t remaining = 0;
  // Time until the limit's state is back to full capacity (idle), i.e. the
  // end of the current window for windowed algorithms. 0 when already full.
  Duration reset_after{0};
  // kOverLimit only: the earliest time after which the same request could
  // pass if nothing else happens, or kNever. 0 when the code is kOk.
  Duration retry_after{0};

  bool ok() const { return code == Code::kOk; }
};

// The decision of several limits applied together (Store::ApplyAll): when any
// denies, the first denying one's with retry_after the largest among the
// denying; otherwise the one with the least remaining (the first on ties).
// REQUIRES: !per_limit.empty().
Decision CombineDecisions(std::span<const Decision> per_limit);

}  // namespace keel::ratelimit
