#include "keel/resilience/circuit_breaker.h"

#include <algorithm>

namespace keel::resilience {

Status ValidateCircuitBreakerOptions(const CircuitBreakerOptions& o) {
  if (o.window_size < 1) return InvalidArgument("breaker.window_size must be >= 1");
  if (o.minimum_calls < 1) return InvalidArgument("breaker.minimum_calls must be >= 1");
  if (o.failure_rate_threshold <= 0 || o.failure_rate_threshold > 100)
    return InvalidArgument("breaker.failure_rate_threshold must be in (0, 100]");
  if (o.slow_call_rate_threshold <= 0 || o.slow_call_rate_threshold > 100)
    return InvalidArgument("breaker.slow_call_rate_threshold must be in (0, 100]");
  if (o.slow_call_duration <= Clock::duration::zero())
    return InvalidArgument("breaker.slow_call_duration must be > 0");
  if (o.wait_in_open < Clock::duration::zero())
    return InvalidArgument("breaker.wait_in_open must be >= 0");
  if (o.half_open_calls < 1) return InvalidArgument("breaker.half_open_calls must be >= 1");
  if (o.max_wait_in_half_open < Clock::duration::zero())
    return InvalidArgument("breaker.max_wait_in_half_open must be >= 0");
  return Status::Ok();
}

StatusOr<std::unique_ptr<CircuitBreaker>> CircuitBreaker::Create(
    const CircuitBreakerOptions& options, const Clock& clock, obs::Registry& registry,
    const std::string& name) {
  if (Status s = ValidateCircuitBreakerOptions(options); !s.ok()) return s;
  auto& calls = registry.AddCounter("keel_breaker_calls_total",
                                    "Calls seen by a circuit breaker, by outcome.",
                                    {"name", "outcome"});
  Metrics m{
      registry
          .AddGauge("keel_breaker_state", "Circuit breaker state: 0 closed, 1 open, 2 half_open.",
                    {"name"})
          .Get({name}),
      &registry.AddCounter("keel_breaker_transitions_total", "Circuit breaker state changes.",
                           {"name", "from", "to"}),
      calls.Get({name, "success"}),
      calls.Get({name, "failure"}),
      calls.Get({name, "slow_success"}),
      calls.Get({name, "slow_failure"}),
      calls.Get({name, "rejected"}),
      calls.Get({name, "ignored"}),
  };
  return std::unique_ptr<CircuitBreaker>(new CircuitBreaker(options, clock, m, name));
}

CircuitBreaker::CircuitBreaker(const CircuitBreakerOptions& options, const Clock& clock,
                               Metrics metrics, std::string name)
    : options_(options), clock_(clock), metrics_(metrics), name_(std::move(name)),
      state_since_(clock.Now()), buckets_(static_cast<std::size_t>(options.window_size)) {
  metrics_.state->Set(0);
}

const char* CircuitBreaker::StateName(State s) {
  switch (s) {
    case State::kClosed: return "closed";
    case State::kOpen: return "open";
    case State::kHalfOpen: return "half_open";
  }
  return "unknown";
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

bool CircuitBreaker::TryAcquire() {
  std::lock_guard<std::mutex> lock(mu_);
  Clock::time_point now = clock_.Now();
  if (state_ == State::kOpen && now - state_since_ >= options_.wait_in_open) {
    TransitionLocked(State::kHalfOpen, now);
  }
  if (state_ == State::kHalfOpen && options_.max_wait_in_half_open > Clock::duration::zero() &&
      now - state_since_ >= options_.max_wait_in_half_open) {
    TransitionLocked(State::kOpen, now);
  }
  switch (state_) {
    case State::kClosed: return true;
    case State::kHalfOpen:
      if (probes_issued_ < options_.half_open_calls) {
        ++probes_issued_;
        return true;
      }
      break;
    case State::kOpen: break;
  }
  metrics_.rejected->Inc();
  return false;
}

void CircuitBreaker::OnSuccess(Clock::duration latency) { Record(false, latency); }
void CircuitBreaker::OnFailure(Clock::duration latency) { Record(true, latency); }

void CircuitBreaker::OnIgnored() {
  metrics_.ignored->Inc();
  std::lock_guard<std::mutex> lock(mu_);
  // The permit goes back so a half-open breaker can still finish its probes.
  if (state_ == State::kHalfOpen && probes_issued_ > probes_done_) --probes_issued_;
}

void CircuitBreaker::Record(bool failure, Clock::duration latency) {
  const bool slow = latency >= options_.slow_call_duration;
  (failure ? (slow ? metrics_.slow_failure : metrics_.failure)
           : (slow ? metrics_.slow_success : metrics_.success))
      ->Inc();
  std::lock_guard<std::mutex> lock(mu_);
  Clock::time_point now = clock_.Now();
  switch (state_) {
    case State::kClosed: RecordClosedLocked(failure, slow, now); break;
    case State::kHalfOpen:
      ++probes_done_;
      probe_failures_ += failure;
      probe_slow_ += slow;
      if (probes_done_ >= options_.half_open_calls) {
        bool trip = OverThresholdLocked(probes_done_, probe_failures_, probe_slow_);
        TransitionLocked(trip ? State::kOpen : State::kClosed, now);
      }
      break;
    case State::kOpen: break;  // a call permitted before the breaker opened
  }
}

void CircuitBreaker::RecordClosedLocked(bool failure, bool slow, Clock::time_point now) {
  Bucket* b;
  if (options_.window_type == WindowType::kCount) {
    b = &buckets_[next_];
    next_ = (next_ + 1) % buckets_.size();
    calls_ -= b->calls;
    failures_ -= b->failures;
    slow_ -= b->slow;
    *b = Bucket{};
  } else {
    // Per-second ring: buckets of seconds that slid out are emptied on the
    // way to `second` (at most window_size of them), so totals stay exact.
    std::int64_t second =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto size = static_cast<std::int64_t>(buckets_.size());
    b = &buckets_[static_cast<std::size_t>(second % size)];
    if (b->second != second) {
      for (auto& old : buckets_) {
        if (old.second >= 0 && old.second <= second - size) {
          calls_ -= old.calls;
          failures_ -= old.failures;
          slow_ -= old.slow;
          old = Bucket{};
        }
      }
      calls_ -= b->calls;
      failures_ -= b->failures;
      slow_ -= b->slow;
      *b = Bucket{};
      b->second = second;
    }
  }
  ++b->calls;
  b->failures += failure;
  b->slow += slow;
  ++calls_;
  failures_ += failure;
  slow_ += slow;
  if (calls_ >= options_.minimum_calls && OverThresholdLocked(calls_, failures_, slow_)) {
    TransitionLocked(State::kOpen, now);
  }
}

bool CircuitBreaker::OverThresholdLocked(int calls, int failures, int slow) const {
  const double failure_rate = 100.0 * failures / calls;
  const double slow_rate = 100.0 * slow / calls;
  return failure_rate >= options_.failure_rate_threshold ||
         slow_rate >= options_.slow_call_rate_threshold;
}

void CircuitBreaker::TransitionLocked(State to, Clock::time_point now) {
  metrics_.transitions->Get({name_, StateName(state_), StateName(to)})->Inc();
  metrics_.state->Set(static_cast<double>(static_cast<int>(to)));
  state_ = to;
  state_since_ = now;
  probes_issued_ = probes_done_ = probe_failures_ = probe_slow_ = 0;
  if (to == State::kClosed) ResetWindowLocked();
}

void CircuitBreaker::ResetWindowLocked() {
  std::fill(buckets_.begin(), buckets_.end(), Bucket{});
  next_ = 0;
  calls_ = failures_ = slow_ = 0;
}

}  // namespace keel::resilience
