#include "keel/trace/wall_clock.h"

#include <chrono>

namespace keel::trace {

std::int64_t SystemWallClock::NowUnixNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SystemWallClock& SystemWallClock::Default() {
  static auto* clock = new SystemWallClock();
  return *clock;
}

}  // namespace keel::trace
