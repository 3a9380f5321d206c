#include "keel/resilience/pipeline.h"

#include <string>
#include <utility>

namespace keel::resilience {

const char* Outcome::Name(Kind k) {
  switch (k) {
    case kSuccess: return "success";
    case kFailure: return "failure";
    case kFatal: return "fatal";
    case kTimeout: return "timeout";
    case kRejected: return "rejected";
    case kCancelled: return "cancelled";
  }
  return "unknown";
}

// One call's state, owned by shared_ptrs in the callbacks that may still run
// (bulkhead grant, timers, attempt callbacks); it lives on one scheduler's
// thread, so it needs no lock.
struct Pipeline::CallState : std::enable_shared_from_this<CallState> {
  // A try in flight: the primary (slot 0) or a hedge (slots 1..).
  struct Leg {
    bool active = false;
    std::uint32_t gen = 0;  // tells a stale callback from the current one
    CancelFn cancel;
    TimerId timer = 0;
    Clock::time_point started;
  };

  Pipeline* p;
  Scheduler* sched;
  CallOptions opts;
  Attempt attempt;
  CallDone done;
  Deadline deadline = Deadline::Infinite();
  Clock::time_point start;
  bool finished = false;
  bool holds_bulkhead = false;
  bool in_attempt = false;  // inside attempt(): it must not be destroyed yet
  int tries = 0;  // primary tries, for max_attempts
  std::uint32_t next_gen = 0;
  Leg legs[kMaxHedgeAttempts];
  int hedges = 0;  // hedges started for the current try
  TimerId backoff_timer = 0, hedge_timer = 0;
  CallStats stats;

  Clock::time_point Now() const { return sched->clock().Now(); }

  void Begin() {
    if (p->bulkhead_) {
      p->bulkhead_->Enter(*sched, deadline.when(), [self = shared_from_this()](bool granted) {
        if (!granted) return self->Finish(Outcome(Outcome::kRejected, "bulkhead"));
        self->holds_bulkhead = true;
        self->StartTry(0);
      });
    } else {
      StartTry(0);
    }
  }

  bool AnyActive() const {
    for (const Leg& l : legs)
      if (l.active) return true;
    return false;
  }

  // slot 0 starts a (re)try; slot i > 0 starts the i-th hedge of the current try.
  void StartTry(int slot) {
    const bool hedge = slot > 0;
    backoff_timer = 0;
    if (p->breaker_ && !p->breaker_->TryAcquire()) {
      if (!hedge) Finish(Outcome(Outcome::kRejected, "circuit breaker open"));
      return;  // a refused hedge leaves the earlier legs running
    }
    Clock::time_point now = Now();
    if (!hedge) {
      ++tries;
      hedges = 0;
    }
    ++stats.attempts;
    Leg& leg = legs[slot];
    const std::uint32_t gen = ++next_gen;
    leg.active = true;
    leg.gen = gen;
    leg.started = now;
    AttemptContext ctx{tries, hedge, deadline.ForAttempt(now, p->options_.per_try_timeout)};
    if (!ctx.deadline.infinite()) {
      leg.timer = sched->After(ctx.deadline.when() - now, [self = shared_from_this(), slot, gen] {
        self->OnLegDone(slot, gen, Outcome(Outcome::kTimeout, "per-try timeout"), true);
      });
    }
    // Hedges of a try are spaced by the hedge delay (gRPC's hedgingDelay);
    // a call hedges in one try only, so retries after it do not multiply load.
    if (slot + 1 < p->options_.hedge.max_attempts && (hedge || !stats.hedged))
      MaybeArmHedge(slot + 1, now, ctx.deadline);
    in_attempt = true;
    CancelFn cancel = attempt(ctx, [self = shared_from_this(), slot, gen](Outcome o) {
      self->OnLegDone(slot, gen, std::move(o), false);
    });
    in_attempt = false;
    if (finished) attempt = nullptr;
    // The attempt may have completed (or the call finished) synchronously.
    if (leg.active && leg.gen == gen) leg.cancel = std::move(cancel);
  }

  void MaybeArmHedge(int slot, Clock::time_point now, Deadline attempt_deadline) {
    const HedgeOptions& h = p->options_.hedge;
    if (!h.enabled || !opts.idempotent || !h.delay) return;
    std::optional<Clock::duration> delay = h.delay();
    if (!delay || *delay >= attempt_deadline.Remaining(now)) return;
    hedge_timer = sched->After(*delay, [self = shared_from_this(), slot] {
      self->hedge_timer = 0;
      // Only while every earlier leg of this try is still pending.
      if (self->finished || self->hedges != slot - 1) return;
      for (int i = 0; i < slot; ++i)
        if (!self->legs[i].active) return;
      self->hedges = slot;
      self->stats.hedged = true;
      ++self->stats.hedges;
      self->p->hedges_started_->Inc();
      self->StartTry(slot);
    });
  }

  // Ends a leg: its timer is cancelled (or fired), the breaker hears the result.
  void CloseLeg(Leg& leg, bool from_timer, bool cancel_attempt) {
    leg.active = false;
    if (!from_timer && leg.timer != 0) sched->Cancel(leg.timer);
    leg.timer = 0;
    CancelFn cancel = std::move(leg.cancel);
    leg.cancel = nullptr;
    if (cancel_attempt && cancel) cancel();
  }

  void OnLegDone(int slot, std::uint32_t gen, Outcome o, bool from_timer) {
    const bool hedge = slot > 0;
    Leg& leg = legs[slot];
    if (finished || !leg.active || leg.gen != gen) return;  // stale or after cancel
    CloseLeg(leg, from_timer, from_timer);
    Clock::duration latency = Now() - leg.started;
    if (p->breaker_) {
      switch (o.kind) {
        case Outcome::kSuccess: p->breaker_->OnSuccess(latency); break;
        case Outcome::kFailure:
        case Outcome::kFatal:
        case Outcome::kTimeout: p->breaker_->OnFailure(latency); break;
        case Outcome::kRejected:
        case Outcome::kCancelled: p->breaker_->OnIgnored(); break;
      }
    }
    if (o.kind == Outcome::kSuccess) {
      if (stats.hedged) {
        stats.hedge_won = hedge;
        (hedge ? p->hedges_won_ : p->hedges_lost_)->Inc();
      }
      return Finish(std::move(o));
    }
    if (AnyActive()) return;  // another leg may still succeed
    if (o.kind != Outcome::kFailure && o.kind != Outcome::kTimeout) return Finish(std::move(o));
    MaybeRetry(std::move(o));
  }

  void MaybeRetry(Outcome last) {
    RetryPolicy& r = *p->retry_;
    if (tries >= r.options().max_attempts) {
      r.AllowRetry(tries);  // counts attempts_exhausted
      return Finish(std::move(last));
    }
    Clock::duration delay = p->Jitter(tries);
    if (deadline.Remaining(Now()) <= delay) {
      return Finish(Outcome(Outcome::kTimeout, "deadline"));
    }
    if (!r.AllowRetry(tries)) return Finish(std::move(last));
    if (hedge_timer != 0) sched->Cancel(hedge_timer);
    hedge_timer = 0;
    backoff_timer = sched->After(delay, [self = shared_from_this()] { self->StartTry(false); });
  }

  void Finish(Outcome o) {
    if (finished) return;
    finished = true;
    if (backoff_timer != 0) sched->Cancel(backoff_timer);
    if (hedge_timer != 0) sched->Cancel(hedge_timer);
    for (Leg& leg : legs) {
      if (!leg.active) continue;
      CloseLeg(leg, false, true);  // a hedge loser, or a try outrun by the call's end
      if (p->breaker_) p->breaker_->OnIgnored();
    }
    if (holds_bulkhead) p->bulkhead_->Leave();
    p->calls_[o.kind]->Inc();
    stats.elapsed = Now() - start;
    CallDone d = std::move(done);
    if (!in_attempt) attempt = nullptr;  // drop the caller's captures now, not when the last timer dies
    d(o, stats);
  }
};

StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(PipelineOptions options, const Clock& clock,
                                                     obs::Registry& registry, std::string name) {
  if (options.breaker_enabled) {
    if (Status s = ValidateCircuitBreakerOptions(options.breaker); !s.ok()) return s;
  }
  if (Status s = ValidateRetryOptions(options.retry); !s.ok()) return s;
  if (options.bulkhead_enabled) {
    if (Status s = ValidateBulkheadOptions(options.bulkhead); !s.ok()) return s;
  }
  if (options.per_try_timeout < Clock::duration::zero())
    return InvalidArgument("timeout.per_try must be >= 0");
  if (options.total_timeout < Clock::duration::zero())
    return InvalidArgument("timeout.total must be >= 0");
  if (options.hedge.enabled && !(options.hedge.percentile > 0 && options.hedge.percentile < 100))
    return InvalidArgument("hedge.percentile must be in (0, 100)");
  if (options.hedge.max_attempts < 1 || options.hedge.max_attempts > kMaxHedgeAttempts)
    return InvalidArgument("hedge.max_attempts must be in [1, " +
                           std::to_string(kMaxHedgeAttempts) + "]");
  std::unique_ptr<Pipeline> p(new Pipeline(std::move(options), clock, registry, std::move(name)));
  return p;
}

Pipeline::Pipeline(PipelineOptions options, const Clock& clock, obs::Registry& registry,
                   std::string name)
    : options_(std::move(options)), rng_(options_.seed) {
  // Options were validated by Create(), so the policies' Create() cannot fail.
  if (options_.breaker_enabled)
    breaker_ = CircuitBreaker::Create(options_.breaker, clock, registry, name).value();
  retry_ = RetryPolicy::Create(options_.retry, clock, registry, name).value();
  if (options_.bulkhead_enabled)
    bulkhead_ = Bulkhead::Create(options_.bulkhead, registry, name).value();
  auto& calls = registry.AddCounter("keel_resilience_calls_total",
                                    "Calls through a resilience pipeline, by outcome.",
                                    {"name", "outcome"});
  for (int k = 0; k < 6; ++k) calls_[k] = calls.Get({name, Outcome::Name(Outcome::Kind(k))});
  auto& hedges = registry.AddCounter("keel_hedges_total", "Hedged attempts, by result.",
                                     {"name", "result"});
  hedges_started_ = hedges.Get({name, "started"});
  hedges_won_ = hedges.Get({name, "won"});
  hedges_lost_ = hedges.Get({name, "lost"});
}

Pipeline::~Pipeline() = default;

Clock::duration Pipeline::Jitter(int retry) {
  std::lock_guard<std::mutex> lock(rng_mu_);
  return retry_->Backoff(retry, rng_);
}

void Pipeline::Call(Scheduler& sched, const CallOptions& options, Attempt attempt,
                    CallDone done) {
  auto st = std::make_shared<CallState>();
  st->p = this;
  st->sched = &sched;
  st->opts = options;
  st->attempt = std::move(attempt);
  st->done = std::move(done);
  st->start = sched.clock().Now();
  st->deadline = options.deadline;
  if (options_.total_timeout > Clock::duration::zero())
    st->deadline = st->deadline.Min(Deadline::After(st->start, options_.total_timeout));
  if (st->deadline.Expired(st->start)) return st->Finish(Outcome(Outcome::kTimeout, "deadline"));
  retry_->OnCall();
  st->Begin();
}

}  // namespace keel::resilience
