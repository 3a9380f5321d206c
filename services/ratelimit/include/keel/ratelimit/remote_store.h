// RemoteStore: the seam between the Limiter and an external store that holds
// the limiter's state for many instances (Redis, redis_store.h). A call
// carries every limit of one descriptor and answers asynchronously with each
// limit's decision, all-or-nothing like Store::ApplyAll. When the store
// cannot answer in time, the implementation decides by the call's fail mode
// (open: allow, closed: deny, local: this instance's share of the limit in
// the embedded store) and says so with `degraded`.
//
//   remote.ApplyAll(call, [](std::span<const Decision> per_limit, bool degraded) {
//     Decision d = CombineDecisions(per_limit);
//   });
//
// Thread-safety: implementations must accept ApplyAll from any thread; `done`
// runs exactly once, on any thread, possibly before ApplyAll returns.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "keel/base/clock.h"
#include "keel/ratelimit/decision.h"
#include "keel/ratelimit/key_hash.h"
#include "keel/ratelimit/limit.h"
#include "keel/ratelimit/rule_config.h"

namespace keel::ratelimit {

class RemoteStore {
 public:
  // Views valid only during ApplyAll: implementations copy what they keep.
  struct Call {
    std::string_view domain;
    std::span<const DescriptorEntry> entries;
    std::uint64_t key_hash = 0;     // the embedded store's key (local fail mode)
    std::span<const Limit> limits;  // 1 .. Store::kMaxLimitsPerCall
    std::int64_t hits = 0;
    Clock::time_point now;          // the limiter's clock (local fail mode)
    FailMode fail_mode = FailMode::kOpen;
  };
  // per_limit: one decision per limit, in order.
  using Done = std::function<void(std::span<const Decision> per_limit, bool degraded)>;

  virtual ~RemoteStore() = default;
  virtual void ApplyAll(const Call& call, Done done) = 0;
};

}  // namespace keel::ratelimit
