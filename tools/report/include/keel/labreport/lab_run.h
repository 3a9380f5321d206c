// LabRun: everything `keel report` shows about one lab run, as read from the
// directory `keel lab --out DIR` writes (format: docs/lab-output.md).
//
// Plain values: the reader (reader.h) fills one, the renderer (renderer.h)
// turns one into HTML. All times are seconds on the scenario's axis (0 = the
// scenario began) unless a field says otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keel::labreport {

// One second of one load, already placed on the scenario axis.
struct LoadSecond {
  double t = 0;  // offset_s + the CSV's t (end of the second)
  std::uint64_t sent = 0;
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;  // corrected latency
  std::optional<std::uint64_t> over_limit;  // `keel load rls://` only: OVER_LIMIT answers
};

// Headline figures of `keel load --json` (corrected latency).
struct LoadSummary {
  std::string mode;                     // "open" or "closed"
  std::optional<double> requested_rate;  // null in closed loop
  double achieved_rate = 0;
  double duration_s = 0;
  std::uint64_t sent = 0, completed = 0, errors = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

struct Load {
  std::string name;
  std::string target;
  double offset_s = 0;
  std::vector<LoadSecond> seconds;
  std::optional<LoadSummary> summary;  // absent when the load's JSON was not written
};

struct Fault {
  std::string name;
  std::string kind;  // toxic, kill, restart, signal (others are shown as given)
  std::string target;
  double start_s = 0;
  std::optional<double> end_s;  // absent: an instant event
  std::string detail_json;      // compact JSON text, "" when absent
};

struct BurnWindow {
  std::string label;
  double long_s = 0, short_s = 0;
  double burn_threshold = 0;
  double max_long_burn = 0, max_short_burn = 0;
  bool fired = false;
  std::optional<double> first_fired_s;
  bool evaluated = true;  // false: too few events in the window to judge
};

struct Slo {
  std::string name;
  std::string kind;  // availability or latency
  double objective = 0;
  std::optional<double> threshold_ms;
  std::uint64_t good = 0, total = 0;
  double measured = 0;
  double budget_consumed = 0;  // fraction: 1.0 = the whole error budget
  bool passed = false;
  std::vector<BurnWindow> windows;
};

// One counter of one process turned into a per-second rate between scrapes.
struct ProcessRate {
  std::string process;
  std::vector<double> t;     // scenario axis, the later scrape of each pair
  std::vector<double> rate;  // units of the counter per second
};

// A check the lab ran after the loads (run.json "checks").
struct Check {
  std::string name;
  bool passed = false;
  double seconds = 0;
  std::string note;
};

struct LabRun {
  std::string dir;  // as given to the reader
  std::string scenario;
  std::int64_t started_unix_ms = 0;
  double duration_s = 0;
  bool passed = false;
  std::vector<Load> loads;
  std::vector<Fault> faults;
  std::vector<Slo> slos;
  std::vector<Check> checks;
  std::vector<std::string> processes;
  std::vector<ProcessRate> cpu;  // process_cpu_seconds_total rate (cores), when scraped
};

}  // namespace keel::labreport
