// Output formats of `keel load`.
//
//   HumanSummary(result)         text for a terminal
//   PercentileSpectrum(h)        HdrHistogram's "Value Percentile TotalCount
//                                1/(1-Percentile)" table (ms)
//   ToJson(result)               the --json document (schema at ToJson below)
//   WriteTimeseries(result, os)  --timeseries CSV:
//                                t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok
//                                (rls://: then over_limit), then le_<duration>
//                                per --count-within threshold
//
// Pure functions of their arguments: safe to call from any thread.
#pragma once

#include <ostream>
#include <string>

#include "keel/load/run_result.h"

namespace keel::load {

// Mode, threads/connections, duration, requested and achieved rate (requested
// is "n/a (closed loop)" in closed loop), sent/completed, errors by kind,
// backlog, corrected and uncorrected latency side by side (p50 .. p99.99,
// max, mean, stdev in ms), and each SLO with PASS/FAIL and its first
// breaching window. Warns when an open-loop run achieved < 90% of its rate.
std::string HumanSummary(const RunResult& result);

// histogram.PercentileDistribution(1000.0): µs values printed in ms.
std::string PercentileSpectrum(const obs::LatencyHistogram& histogram);

// Schema version 1 (fields in this order; new fields only get appended, a
// change of meaning bumps schema_version). Latencies in ms: percentiles are
// exact µs / 1000, mean and stdev are rounded to the µs.
//   schema_version  1
//   url, mode ("open" | "closed"), threads, connections, duration_s
//   requested_rate  req/s, null in closed loop;  achieved_rate  req/s
//   sent, completed
//   errors          {connect, timeout, read, status_4xx, status_5xx, total}
//   backlog         {requests, max, not_sent}
//   latency_ms      {corrected: {p50, p75, p90, p99, p99_9, p99_99, max, mean, stdev},
//                    uncorrected: {same}}
//   seconds         [{t, sent, completed, errors, p50_ms, p99_ms, p999_ms, ok,
//                     within: {"le_50ms": n, ...} (only with --count-within)}]  (corrected)
//   slo             [{bound, passed, measured (in the bound's unit), window_breached,
//                     window_start_s, window_end_s, window_measured (null unless breached)}]
//   measure_start_unix_ms  wall clock (ms since the epoch) when the measured part began
// rls:// runs: errors holds {timeout, unavailable, grpc_status, total}; each
// seconds row gains over_limit; and at the end come
//   protocol "rls", ok (answers with overall_code OK), over_limit (OVER_LIMIT answers)
std::string ToJson(const RunResult& result);

// One row per RunResult::seconds entry, values with 3 decimals; the
// percentiles are of corrected latency, so the last column is always "true".
void WriteTimeseries(const RunResult& result, std::ostream& out);

// The time-series column of a --count-within threshold: "le_50ms".
std::string WithinColumn(std::int64_t threshold_us);

}  // namespace keel::load
