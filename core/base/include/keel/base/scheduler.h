// Scheduler: the one seam through which delayed work (retry backoff, hedge
// timers, deadlines, breaker probes) enters asynchronous code, so that the
// resilience policies and the HTTP client can be driven by simulated time.
//
// A Scheduler runs callbacks on one logical thread (an event loop): Post()
// and After() callbacks never run concurrently with each other, and never
// inside the call that scheduled them.
//
//   SimulatedScheduler sched;                 // starts at time 0
//   TimerId t = sched.After(std::chrono::milliseconds(50), [] { Retry(); });
//   sched.AdvanceBy(std::chrono::milliseconds(49));   // nothing runs
//   sched.AdvanceBy(std::chrono::milliseconds(1));    // Retry() runs
//   sched.Cancel(t);                          // harmless after it ran
//
// The production implementation wraps an Asio io_context (keel/net/
// asio_scheduler.h); this header stays free of Asio.
//
// Thread-safety: SimulatedScheduler is single-threaded (tests drive it from
// one thread). Implementations document their own rules.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "keel/base/clock.h"

namespace keel {

// Identifies a pending After() callback; 0 is never a valid id.
using TimerId = std::uint64_t;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // The clock After() delays are measured on.
  virtual const Clock& clock() const = 0;
  // Runs fn soon, on the scheduler's thread, after the caller returns.
  virtual void Post(std::function<void()> fn) = 0;
  // Runs fn once `delay` has passed (delay <= 0: as Post()).
  virtual TimerId After(Clock::duration delay, std::function<void()> fn) = 0;
  // Drops a pending timer; its callback will not run. Returns false when the
  // timer has already run, was cancelled, or never existed.
  virtual bool Cancel(TimerId id) = 0;
};

// Deterministic virtual time for tests: callbacks run only inside
// RunReady()/AdvanceBy()/AdvanceTo(), in (due time, scheduling order) order.
class SimulatedScheduler final : public Scheduler {
 public:
  explicit SimulatedScheduler(Clock::time_point start = Clock::time_point()) : clock_(start) {}

  const Clock& clock() const override { return clock_; }
  ManualClock& manual_clock() { return clock_; }
  void Post(std::function<void()> fn) override { After(Clock::duration::zero(), std::move(fn)); }
  TimerId After(Clock::duration delay, std::function<void()> fn) override {
    if (delay < Clock::duration::zero()) delay = Clock::duration::zero();
    TimerId id = ++next_id_;
    timers_.emplace(Key{clock_.Now() + delay, id}, std::move(fn));
    return id;
  }
  bool Cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.id == id) {
        timers_.erase(it);
        return true;
      }
    }
    return false;
  }

  // Runs every callback due now (including ones they schedule for now).
  // Returns how many ran.
  int RunReady() { return AdvanceTo(clock_.Now()); }
  // Moves time forward step by step, running each timer at its due time.
  int AdvanceBy(Clock::duration d) { return AdvanceTo(clock_.Now() + d); }
  int AdvanceTo(Clock::time_point t) {
    int ran = 0;
    while (!timers_.empty() && timers_.begin()->first.due <= t) {
      auto node = timers_.extract(timers_.begin());
      if (node.key().due > clock_.Now()) clock_.Set(node.key().due);
      node.mapped()();
      ++ran;
    }
    if (t > clock_.Now()) clock_.Set(t);
    return ran;
  }
  std::size_t pending() const { return timers_.size(); }

 private:
  struct Key {
    Clock::time_point due;
    TimerId id;
    bool operator<(const Key& o) const { return due != o.due ? due < o.due : id < o.id; }
  };
  ManualClock clock_;
  TimerId next_id_ = 0;
  std::map<Key, std::function<void()>> timers_;
};

}  // namespace keel
