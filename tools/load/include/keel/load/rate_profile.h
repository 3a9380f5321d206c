// When each request of an open-loop run is due.
//
// A profile is a list of segments, each with a duration and a start and end
// rate (requests per second): constant (start == end), a linear ramp, or a
// pause (0). The k-th request (0-based) is due at the time t where the
// cumulative count of the profile, integral of rate from 0 to t, reaches k.
// The schedule is even: request k of a constant 1000/s run is due at k ms.
//
//   auto p = RateProfile::ParseRate("1000:20000", std::chrono::seconds(30));  // ramp
//   auto q = RateProfile::ParseStages("10s@1000,30s@5000,10s@0");             // steps
//   std::optional<Duration> t = p->IntendedTime(42);  // nullopt past the end
//
// Thread-safety: immutable after creation; share freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::load {

class RateProfile {
 public:
  struct Segment {
    Duration duration;
    double start_rate;  // requests per second
    double end_rate;
  };

  // REQUIRES nothing; errors name the bad text: InvalidArgument.
  static StatusOr<RateProfile> Constant(double rate, Duration duration);
  // "R" (constant) or "R1:R2" (linear ramp from R1 to R2 over duration).
  static StatusOr<RateProfile> ParseRate(std::string_view text, Duration duration);
  // "10s@1000,30s@5000,10s@0": constant steps.
  static StatusOr<RateProfile> ParseStages(std::string_view text);

  // Offset from the run's start at which request k is due; nullopt when the
  // profile ends before k requests are due.
  std::optional<Duration> IntendedTime(std::uint64_t k) const;
  // Requests due in [0, t] (the integral of the rate), for achieved-vs-requested.
  double ExpectedCount(Duration t) const;
  double RateAt(Duration t) const;
  Duration total_duration() const;
  const std::vector<Segment>& segments() const { return segments_; }

 private:
  explicit RateProfile(std::vector<Segment> segments);
  std::vector<Segment> segments_;
  std::vector<double> cumulative_;  // expected count at the start of each segment
};

}  // namespace keel::load
