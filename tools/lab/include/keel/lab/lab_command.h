// `keel lab SCENARIO.yaml [--out DIR]`: runs a scenario, writes its data and
// report to DIR, prints a summary.
//
// Exit codes: 0 when the run completed and every SLO held; 1 when an SLO
// failed or the run could not complete (a process never got healthy, a load
// failed, Ctrl-C); 2 for a bad scenario or flag (one line on stderr).
#pragma once

#include <string>

namespace keel::lab {

struct LabFlags {
  std::string scenario;
  std::string out_dir;  // default: out/<scenario name>
  bool report = true;   // write DIR/report.html at the end
};

int RunLabCommand(const LabFlags& flags);

}  // namespace keel::lab
