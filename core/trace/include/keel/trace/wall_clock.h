// WallClock: unix-epoch nanoseconds, the timestamps spans carry. Kept apart
// from the monotonic Clock (which measures durations) so tests can fix both.
//
//   ManualWallClock wall(1'700'000'000'000'000'000);
//
// Thread-safety: NowUnixNanos() is thread-safe for both implementations.
#pragma once

#include <atomic>
#include <cstdint>

namespace keel::trace {

class WallClock {
 public:
  virtual ~WallClock() = default;
  virtual std::int64_t NowUnixNanos() const = 0;
};

// std::chrono::system_clock.
class SystemWallClock final : public WallClock {
 public:
  std::int64_t NowUnixNanos() const override;
  // A process-wide instance; never destroyed.
  static SystemWallClock& Default();
};

class ManualWallClock final : public WallClock {
 public:
  explicit ManualWallClock(std::int64_t unix_nanos) : ns_(unix_nanos) {}
  std::int64_t NowUnixNanos() const override { return ns_.load(std::memory_order_relaxed); }
  void Set(std::int64_t unix_nanos) { ns_.store(unix_nanos, std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> ns_;
};

}  // namespace keel::trace
