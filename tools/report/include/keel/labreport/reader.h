// Reads the directory `keel lab --out DIR` writes into a LabRun.
//
//   StatusOr<LabRun> run = ReadLabRun("out/hello");
//   if (!run.ok()) return run.status();  // e.g. "out/hello/run.json: missing field 'scenario'"
//
// Required: DIR/run.json and every load's CSV. Optional: each load's JSON,
// DIR/faults.json, DIR/slos.json, DIR/metrics/<process>.prom. A missing
// optional file is skipped; a file that exists but cannot be parsed is an
// error. Every error is one line naming the file (and the line for CSVs).
// The format is described in docs/lab-output.md.
#pragma once

#include <string>

#include "keel/base/status.h"
#include "keel/labreport/lab_run.h"

namespace keel::labreport {

StatusOr<LabRun> ReadLabRun(const std::string& dir);

// Parsers for one file's text; `name` is the file name used in errors.
// Exposed for tests. Each CSV row is placed at offset_s + t.
StatusOr<std::vector<LoadSecond>> ParseTimeseriesCsv(const std::string& text,
                                                     const std::string& name, double offset_s);
// Rates of `metric` (summed over its label sets) between consecutive scrapes
// of one metrics file; a file without the metric yields no points.
ProcessRate ParseCounterRate(const std::string& text, const std::string& process,
                             const std::string& metric);

}  // namespace keel::labreport
