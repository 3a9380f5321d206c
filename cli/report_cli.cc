#include "report_cli.h"

#include <cstdio>

#include "keel/labreport/write_report.h"

namespace keel::cli {

CLI::App* AddReportCommand(CLI::App& app, ReportFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "report", "Write one self-contained HTML page for a lab run: keel report DIR -o FILE.");
  cmd->add_option("dir", f.dir, "directory written by `keel lab --out DIR`")->required();
  cmd->add_option("-o,--out", f.out, "HTML file to write (default DIR/report.html)");
  return cmd;
}

int RunReportCommand(const ReportFlags& f) {
  const std::string out = f.out.empty() ? f.dir + "/report.html" : f.out;
  Status s = labreport::WriteReport(f.dir, out);
  if (!s.ok()) {
    std::fprintf(stderr, "keel: error: %s\n", s.message().c_str());
    return 2;
  }
  std::printf("keel report: wrote %s\n", out.c_str());
  return 0;
}

}  // namespace keel::cli
