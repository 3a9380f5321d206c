#include "lab_cli.h"

namespace keel::cli {

CLI::App* AddLabCommand(CLI::App& app, lab::LabFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "lab", "Run a scenario: processes, load, faults, SLOs; writes data and an HTML report (docs/lab.md).");
  cmd->add_option("scenario", f.scenario, "scenario YAML file, e.g. lab/hello.yaml")->required();
  cmd->add_option("-o,--out", f.out_dir, "output directory (default out/<scenario name>)");
  cmd->add_flag("!--no-report", f.report, "skip writing report.html");
  return cmd;
}

}  // namespace keel::cli
