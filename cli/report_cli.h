// `keel report DIR [-o FILE]`: the HTML page of a lab run (keel::labreport).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace keel::cli {

struct ReportFlags {
  std::string dir;
  std::string out;  // default: DIR/report.html
};

CLI::App* AddReportCommand(CLI::App& app, ReportFlags& flags);

// Exit code: 0 written; 2 with one "keel: error: ..." line naming the file.
int RunReportCommand(const ReportFlags& flags);

}  // namespace keel::cli
