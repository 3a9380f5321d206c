#include "keel/base/clock.h"

namespace keel {

Clock::time_point SystemClock::Now() const {
  return std::chrono::time_point_cast<duration>(std::chrono::steady_clock::now());
}

SystemClock& SystemClock::Default() {
  static SystemClock* const clock = new SystemClock();  // never destroyed: usable at exit
  return *clock;
}

}  // namespace keel
