// Clock: the one seam through which time enters algorithms, so they can be
// tested with simulated time.
//
// Time is monotonic nanoseconds since an unspecified epoch (for SystemClock,
// std::chrono::steady_clock's). Code under test takes a `Clock&` (or a
// `Clock::time_point` argument) and never calls steady_clock directly.
//
//   ManualClock clock(ManualClock::time_point(std::chrono::seconds(1000)));
//   limiter.Check(clock.Now());
//   clock.Advance(std::chrono::milliseconds(250));
//
// Thread-safety: Now() is thread-safe for both implementations; ManualClock's
// Advance/Set may race with Now() (readers see the old or the new time).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace keel {

class Clock {
 public:
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<std::chrono::steady_clock, duration>;

  virtual ~Clock() = default;
  // Monotonic: never goes backwards.
  virtual time_point Now() const = 0;
};

// The real monotonic clock (std::chrono::steady_clock).
class SystemClock final : public Clock {
 public:
  time_point Now() const override;
  // A process-wide instance; never destroyed.
  static SystemClock& Default();
};

// A clock that only moves when told to. For tests and simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start = time_point()) : ns_(start.time_since_epoch().count()) {}

  time_point Now() const override {
    return time_point(duration(ns_.load(std::memory_order_acquire)));
  }
  // REQUIRES: d >= 0 (the clock is monotonic).
  void Advance(duration d) { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }
  // REQUIRES: t >= Now().
  void Set(time_point t) { ns_.store(t.time_since_epoch().count(), std::memory_order_release); }

 private:
  std::atomic<std::int64_t> ns_;
};

}  // namespace keel
