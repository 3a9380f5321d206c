// Judges a scenario's SLOs from what its loads measured: the per-second
// time series `keel load --timeseries` wrote (with `--count-within` columns
// for latency SLOs), placed on the scenario's time axis.
//
// Events per second: total = ok + errors (every request with an outcome);
// good = ok for an availability SLO, good = answered OK within the threshold
// (the le_<threshold> column) for a latency SLO. For an rls:// load an
// OVER_LIMIT answer is an answer (the limiter working): it counts as ok. An SLO passes when the
// run's good/total meets the objective, i.e. the run used at most its whole
// error budget; a run with no events does not pass. Burn-rate alert pairs
// are evaluated over the same seconds with windows scaled from
// Alerting::period to Alerting::scale_to (default: the run's length).
//
//   auto series = ReadTimeseries("out/load/main.csv", /*offset_s=*/0.2);
//   std::vector<SloOutcome> out = EvaluateSlos(scenario, {*series}, run_length);
//   WriteFile("out/slos.json", SlosToJson(out));
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/lab/scenario.h"
#include "keel/slo/burn_rate_alert.h"

namespace keel::lab {

struct LoadSeries {
  std::string name;
  double offset_s = 0;  // where the load's t=0 sits on the scenario axis
  struct Row {
    double t = 0;       // end of the second, since the load's start
    std::uint64_t ok = 0, errors = 0;
    std::map<std::string, std::uint64_t> within;  // "le_50ms" -> count
  };
  std::vector<Row> rows;
};

// Errors: InvalidArgument naming the file and line for a missing column or a
// malformed value; Unavailable when it cannot be read.
StatusOr<LoadSeries> ReadTimeseries(const std::string& path, const std::string& name, double offset_s);

struct SloOutcome {
  SloSpec spec;
  std::uint64_t good = 0, total = 0;
  double measured = 0;         // good / total
  double budget_consumed = 0;  // 1.0 = the whole budget
  bool passed = false;
  std::vector<slo::WindowVerdict> windows;  // as scaled
};

// The `--count-within` column a latency SLO reads: "le_50ms".
std::string WithinColumnFor(Duration latency);

std::vector<SloOutcome> EvaluateSlos(const Scenario& scenario, const std::vector<LoadSeries>& loads,
                                     Duration run_length);

// The slos.json document (docs/lab-output.md).
std::string SlosToJson(const std::vector<SloOutcome>& outcomes);

}  // namespace keel::lab
