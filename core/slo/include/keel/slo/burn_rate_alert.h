// Multiwindow, multi-burn-rate alerting (SRE workbook, "Alerting on SLOs",
// approach 6), evaluated over a recorded series of good/total event counts.
//
// An alert pair fires at a moment when both its long and its short window
// burn the error budget at least `burn_rate` times too fast: the long window
// says enough budget is gone to matter, the short one that it is still going.
// The workbook's defaults for a 30-day period are WorkbookWindows():
//
//   page    1 h & 5 m   at 14.4×   (2 % of the budget in an hour)
//   page    6 h & 30 m  at 6×      (5 % in six hours)
//   ticket  3 d & 6 h   at 1×      (10 % in three days)
//
// A lab run lasts minutes, not 30 days, so ScaleWindows() shrinks the windows
// by run / period (burn thresholds are ratios and stay). Windows that scale
// below the series' step become one step long.
//
//   EventSeries series(std::chrono::seconds(1));
//   for (const Row& r : rows) series.Append(r.good, r.total);
//   auto windows = ScaleWindows(WorkbookWindows(), kWorkbookPeriod, run_length, series.step());
//   for (const WindowVerdict& v : EvaluateBurnRates(series, 0.999, windows, /*min_events=*/50))
//     if (v.fired) Page(v.window.label, v.first_fired);
//
// Thread-safety: values; EventSeries is not synchronized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "keel/base/units.h"

namespace keel::slo {

struct BurnWindow {
  Duration long_window{};
  Duration short_window{};
  double burn_rate = 1;  // alert when both windows burn at least this fast
  std::string label;     // e.g. "page", "ticket"
};

// 30 days: the period WorkbookWindows() are calibrated for.
inline constexpr Duration kWorkbookPeriod = std::chrono::hours(30 * 24);

// The three pairs above, long window first in each.
std::vector<BurnWindow> WorkbookWindows();

// Each window times to_period / from_period, then raised to at least
// `resolution`; labels and burn thresholds unchanged.
std::vector<BurnWindow> ScaleWindows(const std::vector<BurnWindow>& windows, Duration from_period,
                                     Duration to_period, Duration resolution);

struct EventCounts {
  std::uint64_t good = 0;
  std::uint64_t total = 0;
  std::uint64_t bad() const { return good >= total ? 0 : total - good; }
};

// Good/total counts in consecutive steps of equal length, starting at 0.
class EventSeries {
 public:
  // REQUIRES: step > 0.
  explicit EventSeries(Duration step);

  // Appends the next step. `good` above `total` counts as `total`.
  void Append(std::uint64_t good, std::uint64_t total);

  // The sum over steps [begin, end); indexes are clipped to the series.
  EventCounts Sum(std::size_t begin, std::size_t end) const;
  EventCounts Total() const { return Sum(0, size()); }

  std::size_t size() const { return prefix_.size() - 1; }
  Duration step() const { return step_; }

 private:
  Duration step_;
  std::vector<EventCounts> prefix_;  // prefix_[i] = sum of steps [0, i)
};

// What one alert pair did over the series.
struct WindowVerdict {
  BurnWindow window;
  // False when no step had `min_events` in both windows: too little traffic
  // to judge, so the pair neither fired nor cleared.
  bool evaluated = false;
  double max_long_burn = 0;   // over the steps that were evaluated
  double max_short_burn = 0;
  bool fired = false;
  Duration first_fired{};     // end of the first firing step, from the series start
  std::size_t steps_fired = 0;
};

// Evaluates every pair at the end of every step. A window reaching back
// before the series start covers what there is (as a range query over a
// young time series does). A step is skipped for a pair unless both its
// windows hold at least `min_events` events.
// REQUIRES: ValidateObjective(objective).ok().
std::vector<WindowVerdict> EvaluateBurnRates(const EventSeries& series, double objective,
                                             const std::vector<BurnWindow>& windows,
                                             std::uint64_t min_events);

}  // namespace keel::slo
