// Pipeline: the resilience policies composed around one asynchronous call to
// an upstream (the HTTP client; later Redis, Postgres): deadline, bulkhead,
// retries with full-jitter backoff and a retry budget, a circuit breaker
// consulted per attempt, a per-try timeout and optional hedges.
//
// Order, outermost first (docs/resilience.md explains why):
//   deadline check -> bulkhead (one permit for the whole call, retries
//   included) -> retry loop { breaker.TryAcquire -> attempt with per-try
//   timeout [+ hedges, one per hedge_delay] } -> backoff -> next attempt.
//
//   auto p = Pipeline::Create(options, clock, registry, "users");
//   (*p)->Call(sched, {.deadline = d, .idempotent = true},
//       [&](const AttemptContext& ctx, std::function<void(Outcome)> done) -> CancelFn {
//         auto req = client.Get(url, ctx.deadline, [done](Response r) {
//           done(r.ok() ? Outcome::kSuccess : Outcome::kFailure);
//         });
//         return [req] { req->Cancel(); };
//       },
//       [](const Outcome& o, const CallStats& s) { ... });
//
// Attempt contract: the Attempt starts one try and returns a CancelFn (may be
// empty). It calls `done` at most once, on the scheduler's thread, possibly
// before returning. The pipeline calls the CancelFn at most once, on the
// scheduler's thread, only while the try is outstanding (per-try timeout,
// hedge loser, call finished). After cancel, `done` should not be called; if
// it is, it is ignored. Outcomes: kSuccess ends the call; kFailure and
// kTimeout are retried; kFatal, kRejected and kCancelled end it.
//
// Call contract: `done` runs exactly once, on the scheduler's thread; it may
// run inside Call() when the outcome is known at once (expired deadline,
// bulkhead full, breaker open, an attempt that completes synchronously).
// Nothing of the call (timer, attempt callback) runs after `done`.
//
// Thread-safety: Call() is thread-safe; each call runs on the scheduler it
// was given (call it on that scheduler's thread). Policy state (breaker,
// retry budget, bulkhead) is shared by every thread. Clock and registry
// must outlive the pipeline; the pipeline must outlive its calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "keel/base/rng.h"
#include "keel/base/scheduler.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"
#include "keel/resilience/bulkhead.h"
#include "keel/resilience/circuit_breaker.h"
#include "keel/resilience/deadline.h"
#include "keel/resilience/retry.h"

namespace keel::resilience {

struct Outcome {
  enum Kind {
    kSuccess,
    kFailure,    // retryable (5xx, reset, refused)
    kFatal,      // not retryable (the upstream answered definitively)
    kTimeout,    // per-try timeout or the call's deadline
    kRejected,   // refused by a policy (breaker, bulkhead, budget)
    kCancelled,
  };
  Outcome(Kind k, std::string msg = {}) : kind(k), message(std::move(msg)) {}  // NOLINT
  Kind kind;
  std::string message;
  static const char* Name(Kind k);
};

struct AttemptContext {
  int attempt = 1;  // 1 for the first try, 2 for the first retry; a hedge shares its try's
  bool is_hedge = false;
  Deadline deadline = Deadline::Infinite();  // min(call deadline, now + per_try)
};

using CancelFn = std::function<void()>;
using Attempt = std::function<CancelFn(const AttemptContext&, std::function<void(Outcome)>)>;

// Legs one try may have in flight, the first included (gRPC's cap on
// hedgingPolicy.maxAttempts).
inline constexpr int kMaxHedgeAttempts = 5;

struct HedgeOptions {
  bool enabled = false;
  // Attempts in flight at most for one try, the first included: 2 = one
  // hedge (gRPC hedgingPolicy.maxAttempts). Each further hedge starts one
  // more delay after the previous one, while all earlier legs are pending.
  int max_attempts = 2;
  double percentile = 95;  // percent; the quantile the delay provider should report
  // Delay before the hedge; nullopt = no estimate yet, no hedge.
  std::function<std::optional<Clock::duration>()> delay;
};

struct PipelineOptions {
  bool breaker_enabled = true;
  CircuitBreakerOptions breaker;
  RetryOptions retry;
  bool bulkhead_enabled = true;
  BulkheadOptions bulkhead;
  Clock::duration per_try_timeout{0};  // 0 = none
  Clock::duration total_timeout{0};    // caps every call's deadline; 0 = none
  HedgeOptions hedge;
  std::uint64_t seed = 1;  // backoff jitter
};

struct CallOptions {
  Deadline deadline = Deadline::Infinite();
  // Hedging needs it. Retries do not: an Attempt that may have reached the
  // server reports kFatal instead of kFailure when a repeat would be unsafe.
  bool idempotent = false;
};

struct CallStats {
  int attempts = 0;  // tries started, hedge included
  bool hedged = false;
  int hedges = 0;  // hedges started
  bool hedge_won = false;
  Clock::duration elapsed{0};
};

using CallDone = std::function<void(const Outcome&, const CallStats&)>;

class Pipeline {
 public:
  // InvalidArgument naming the bad option.
  static StatusOr<std::unique_ptr<Pipeline>> Create(PipelineOptions options, const Clock& clock,
                                                    obs::Registry& registry, std::string name);
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline();

  void Call(Scheduler& sched, const CallOptions& options, Attempt attempt, CallDone done);

  CircuitBreaker* breaker() { return breaker_.get(); }
  Bulkhead* bulkhead() { return bulkhead_.get(); }
  const PipelineOptions& options() const { return options_; }

 private:
  struct CallState;
  friend struct CallState;
  Pipeline(PipelineOptions options, const Clock& clock, obs::Registry& registry, std::string name);
  Clock::duration Jitter(int retry);

  const PipelineOptions options_;
  std::unique_ptr<CircuitBreaker> breaker_;
  std::unique_ptr<RetryPolicy> retry_;
  std::unique_ptr<Bulkhead> bulkhead_;
  obs::Counter* calls_[6];
  obs::Counter* hedges_started_;
  obs::Counter* hedges_won_;
  obs::Counter* hedges_lost_;
  std::mutex rng_mu_;
  Rng rng_;  // GUARDED_BY(rng_mu_); only retries draw from it
};

}  // namespace keel::resilience
