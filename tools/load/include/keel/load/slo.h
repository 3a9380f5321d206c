// `--slo` thresholds: "p99<5ms,p99.9<20ms,errors<0.1%,rate>=0.99".
//
//   pNN[.N] OP DURATION   corrected latency percentile (ms/us/s units)
//   max OP DURATION       the largest corrected latency
//   errors OP PERCENT     errored requests / completed+errored, e.g. 0.1%
//   rate OP RATIO         achieved rate / requested rate (open loop), e.g. 0.99
// OP is one of < <= > >=.
//
//   auto bounds = ParseSlo("p99<5ms,errors<0.1%");
//   for (const Bound& b : *bounds) if (!Holds(b, window)) Report(b.text, Measure(b, window));
//
// Thread-safety: values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/obs/latency_histogram.h"

namespace keel::load {

struct Bound {
  enum class Kind { kPercentile, kMax, kErrors, kRate };
  enum class Op { kLt, kLe, kGt, kGe };
  Kind kind = Kind::kPercentile;
  double percentile = 0;  // for kPercentile, e.g. 99.9
  Op op = Op::kLt;
  double limit = 0;       // microseconds for latency, fraction (0.001) for errors, ratio for rate
  std::string text;       // as written, e.g. "p99<5ms"
  std::string unit;       // the limit's unit as written: "ms", "us", "%", or ""
  double unit_scale = 1;  // Measure()'s unit (µs or fraction) per `unit`: 1000 for "ms", 0.01 for "%"
};

// Errors: InvalidArgument naming the clause that could not be read.
StatusOr<std::vector<Bound>> ParseSlo(std::string_view text);

// What a bound is checked against: the whole run or one window of it.
struct SloWindow {
  const obs::LatencyHistogram* corrected = nullptr;  // values in microseconds
  std::uint64_t completed = 0;  // answered requests (any status)
  std::uint64_t errors = 0;     // failed requests (connect/timeout/read errors and 4xx/5xx)
  double requested_rate = 0;    // 0 in closed-loop mode: rate bounds then pass
  double achieved_rate = 0;
};

// The measured value for the bound's quantity, in the bound's unit.
double Measure(const Bound& bound, const SloWindow& window);
// A Measure() value in the unit the bound was written in (µs -> ms for "p99<5ms").
double InBoundUnit(const Bound& bound, double measured);
// True when the window satisfies the bound. A window with no requests passes
// latency and error bounds (nothing to judge), as does a window without a
// `corrected` histogram for latency bounds.
bool Holds(const Bound& bound, const SloWindow& window);

}  // namespace keel::load
