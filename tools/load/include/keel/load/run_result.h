// What a load run measured; the input of every output format.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "keel/obs/latency_histogram.h"

namespace keel::load {

// HTTP runs report the first five kinds, rls:// runs timeout, unavailable
// and grpc_status (ErrorKindsOf).
enum class ErrorKind {
  kConnect, kTimeout, kRead, kStatus4xx, kStatus5xx,
  kUnavailable,  // gRPC UNAVAILABLE: no connection, or the server is not serving
  kGrpcStatus,   // any other non-OK gRPC status, or an answer with overall_code UNKNOWN
};
inline constexpr int kErrorKinds = 7;
// "connect", "timeout", "read", "status_4xx", "status_5xx", "unavailable", "grpc_status"
const char* ErrorKindName(ErrorKind kind);
// The kinds a run of this protocol can count, in report order.
std::vector<ErrorKind> ErrorKindsOf(bool rls);

// One second of the run (after warm-up).
struct SecondRow {
  double t = 0;                 // seconds since the measured part began (end of the second)
  std::uint64_t sent = 0;
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;  // corrected latency
  // HTTP: answered below 400 (completed minus 4xx/5xx); rls://: answered
  // with overall_code OK.
  std::uint64_t ok = 0;
  // Per LoadConfig::count_within_us threshold: answers that are not errors
  // (HTTP below 400; rls:// OK or OVER_LIMIT) with a corrected latency at or
  // below it (the good events of a latency SLO).
  std::vector<std::uint64_t> within;
  std::uint64_t over_limit = 0;  // rls://: answered OVER_LIMIT (completed, not ok, not an error)
};

struct SloResult {
  std::string bound;       // e.g. "p99<5ms"
  bool passed = true;
  double measured = 0;     // whole run, in the bound's unit
  // First failing 10 s window, when any: [start, end) seconds since measurement began.
  bool window_breached = false;
  double window_start = 0, window_end = 0, window_measured = 0;
  std::string unit;        // of the measured values, as the bound was written: "ms", "%", ""
};

// LoadConfig::count_within_us holds at most this many thresholds.
inline constexpr std::size_t kMaxCountWithin = 8;

struct RunResult {
  std::string url;
  bool rls = false;               // an rls:// run (gRPC ShouldRateLimit), else HTTP
  bool open_loop = false;
  int threads = 0, connections = 0;
  double duration_s = 0;          // measured part (after warm-up)
  std::int64_t measure_start_unix_ms = 0;  // wall clock when the measured part began
  double requested_rate = 0;      // average over the measured part; 0 in closed loop
  double achieved_rate = 0;       // completed per second
  std::uint64_t sent = 0;         // requests written (closed loop: some unanswered at the deadline)
  std::uint64_t completed = 0;    // responses read (any status)
  std::array<std::uint64_t, kErrorKinds> errors{};
  std::uint64_t over_limit = 0;   // rls://: completed with overall_code OVER_LIMIT (not errors)
  std::uint64_t backlog_requests = 0;  // requests that found every connection busy
  std::uint64_t backlog_max = 0;       // the deepest one thread's backlog got (measured part)
  std::uint64_t not_sent = 0;          // due but still waiting when the run ended
  obs::LatencyHistogram corrected = obs::LatencyHistogram::ForLatencyMicros();
  obs::LatencyHistogram uncorrected = obs::LatencyHistogram::ForLatencyMicros();
  std::vector<SecondRow> seconds;
  std::vector<SloResult> slos;
  std::vector<std::int64_t> count_within_us;  // the thresholds behind SecondRow::within

  std::uint64_t total_errors() const;
};

}  // namespace keel::load
