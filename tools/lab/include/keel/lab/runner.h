// Runs a scenario end to end: starts its processes and waits for their
// health checks, creates its chaos proxies, drives its loads (one `keel load`
// child each), injects its faults on schedule, scrapes /metrics, then stops
// everything it started — also when interrupted or when a step fails — and
// writes the run's data to the output directory (docs/lab-output.md):
//
//   run.json  faults.json  slos.json  load/NAME.{json,csv,hlog}
//   metrics/PROCESS.prom  logs/NAME.log  data/NAME/
//
//   RunOptions opts{.out_dir = "out/hello", .keel = "/usr/bin/keel"};
//   StatusOr<RunOutcome> r = RunScenario(scenario, opts);
//   return !r.ok() ? 1 : r->passed ? 0 : 1;
//
// Thread-safety: one RunScenario at a time per process (it forks children
// from the calling thread and reads RunOptions::interrupted from it).
#pragma once

#include <atomic>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include <optional>

#include "keel/lab/scenario.h"
#include "keel/lab/slo_eval.h"

namespace keel::lab {

struct RunOptions {
  std::string out_dir;
  std::string keel;                                  // the binary to run `keel load` with
  const std::atomic<bool>* interrupted = nullptr;    // set (e.g. by SIGINT) to stop early
  std::ostream* progress = nullptr;                  // one line per step, when set
  std::vector<std::string> data_dirs;                // {{dir:NAME}} paths, created first
};

struct CheckOutcome {
  std::string name;
  bool passed = false;
  std::optional<int> exit_code;  // unset: it did not start, or was stopped
  double seconds = 0;
  std::string note;              // why it failed without an exit code
};

struct RunOutcome {
  bool completed = false;    // every load ran to its end
  bool interrupted = false;
  std::string failure;       // why it did not complete, when it did not
  std::vector<SloOutcome> slos;
  std::vector<CheckOutcome> checks;  // the scenario's checks, once the loads completed
  bool passed() const;       // completed, every SLO held and every check passed
};

// Errors: only for an output directory that cannot be written. Failures of
// the run itself (a process that never gets healthy, the chaos API refusing a
// proxy) end the run early and come back as RunOutcome::failure, with the
// data gathered so far written.
StatusOr<RunOutcome> RunScenario(const Scenario& scenario, const RunOptions& options);

}  // namespace keel::lab
