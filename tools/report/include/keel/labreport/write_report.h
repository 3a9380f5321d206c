// The one call `keel report` and `keel lab` make: read a lab output directory
// and write its HTML report.
//
//   Status s = WriteReport("out/hello", "out/hello/report.html");
//
// Errors (one line, naming the file): the directory cannot be read
// (see reader.h) or the output cannot be written. Nothing is written on a
// read error.
#pragma once

#include <string>

#include "keel/base/status.h"

namespace keel::labreport {

Status WriteReport(const std::string& dir, const std::string& out_html);

}  // namespace keel::labreport
