#include "keel/slo/burn_rate_alert.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "keel/slo/error_budget.h"

namespace keel::slo {

using std::chrono::hours;
using std::chrono::minutes;

std::vector<BurnWindow> WorkbookWindows() {
  return {
      {hours(1), minutes(5), 14.4, "page"},
      {hours(6), minutes(30), 6, "page"},
      {hours(72), hours(6), 1, "ticket"},
  };
}

std::vector<BurnWindow> ScaleWindows(const std::vector<BurnWindow>& windows, Duration from_period,
                                     Duration to_period, Duration resolution) {
  const double factor = static_cast<double>(to_period.count()) / static_cast<double>(from_period.count());
  auto scale = [&](Duration d) {
    const auto ns = static_cast<Duration::rep>(std::llround(static_cast<double>(d.count()) * factor));
    return std::max(Duration(ns), resolution);
  };
  std::vector<BurnWindow> out;
  out.reserve(windows.size());
  for (const BurnWindow& w : windows) {
    out.push_back({scale(w.long_window), scale(w.short_window), w.burn_rate, w.label});
  }
  return out;
}

EventSeries::EventSeries(Duration step) : step_(step), prefix_(1) { assert(step.count() > 0); }

void EventSeries::Append(std::uint64_t good, std::uint64_t total) {
  EventCounts next = prefix_.back();
  next.good += std::min(good, total);
  next.total += total;
  prefix_.push_back(next);
}

EventCounts EventSeries::Sum(std::size_t begin, std::size_t end) const {
  end = std::min(end, size());
  begin = std::min(begin, end);
  return {prefix_[end].good - prefix_[begin].good, prefix_[end].total - prefix_[begin].total};
}

namespace {

// A window's length in whole steps, at least one.
std::size_t Steps(Duration window, Duration step) {
  const auto n = (window.count() + step.count() - 1) / step.count();
  return static_cast<std::size_t>(std::max<Duration::rep>(1, n));
}

}  // namespace

std::vector<WindowVerdict> EvaluateBurnRates(const EventSeries& series, double objective,
                                             const std::vector<BurnWindow>& windows,
                                             std::uint64_t min_events) {
  std::vector<WindowVerdict> verdicts;
  verdicts.reserve(windows.size());
  for (const BurnWindow& w : windows) {
    WindowVerdict v;
    v.window = w;
    const std::size_t long_steps = Steps(w.long_window, series.step());
    const std::size_t short_steps = Steps(w.short_window, series.step());
    for (std::size_t end = 1; end <= series.size(); ++end) {
      const EventCounts l = series.Sum(end - std::min(end, long_steps), end);
      const EventCounts s = series.Sum(end - std::min(end, short_steps), end);
      if (l.total < min_events || s.total < min_events) continue;
      const double long_burn = BurnRate(ErrorRatio(l.bad(), l.total), objective);
      const double short_burn = BurnRate(ErrorRatio(s.bad(), s.total), objective);
      v.evaluated = true;
      v.max_long_burn = std::max(v.max_long_burn, long_burn);
      v.max_short_burn = std::max(v.max_short_burn, short_burn);
      if (long_burn >= w.burn_rate && short_burn >= w.burn_rate) {
        if (!v.fired) v.first_fired = series.step() * static_cast<Duration::rep>(end);
        v.fired = true;
        ++v.steps_fired;
      }
    }
    verdicts.push_back(std::move(v));
  }
  return verdicts;
}

}  // namespace keel::slo
