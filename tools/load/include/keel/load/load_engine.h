// The load engine behind `keel load`: drives an HTTP/1.1 server over
// keep-alive connections, or an Envoy RLS v3 server over gRPC (rls://), and
// measures every response.
//
// Open loop (a RateProfile is given): request k has an intended send time on
// the profile's even schedule; it is written at that time on an idle
// connection, or, when every connection is busy, queued in a backlog (counted)
// and written as soon as one frees up. Latency is measured from the intended
// time ("corrected": what a user arriving on schedule would see, including
// the time the request waited behind a stalled server) and from the actual
// write ("uncorrected"). Closed loop (no profile): each connection sends its
// next request as soon as the previous response arrives, as wrk does.
//
//   LoadConfig cfg;  // target, requests, profile or duration, connections...
//   StatusOr<RunResult> r = RunLoad(cfg);
//
// Threads share nothing while running: each has its own event loop,
// connections and histograms, merged when a second ends and at the end.
//
// rls:// (LoadConfig::rls): --connections is the number of gRPC channels,
// each its own HTTP/2 connection. Closed loop keeps one call in flight per
// channel; open loop up to kOpenLoopCallsPerChannel per channel before due
// calls wait in the backlog. An OVER_LIMIT answer is completed and counted in
// over_limit, not as an error; a non-OK gRPC status is an error (timeout,
// unavailable, grpc_status) and not completed.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/load/rate_profile.h"
#include "keel/load/request_template.h"
#include "keel/load/results_writer.h"
#include "keel/load/rls_request.h"
#include "keel/load/run_result.h"
#include "keel/load/slo.h"

namespace keel::load {

enum class Protocol { kHttp, kRls };

inline constexpr int kOpenLoopCallsPerChannel = 100;

struct Target {
  Protocol protocol = Protocol::kHttp;
  std::string host;  // name or address as given in the URL
  std::uint16_t port = 80;
  std::string target;  // path and query ("/a?b=1"); may hold templates
};

// Parses "http://HOST[:PORT][/PATH]" or "rls://HOST:PORT" (port required, no
// path). Errors: InvalidArgument naming the URL.
StatusOr<Target> ParseUrl(std::string_view url);

struct LoadConfig {
  std::string url;
  Target target;
  std::vector<RequestSpec> requests;   // HTTP: cycled in order; at least one
  std::optional<RlsRequestSpec> rls;   // rls://: what every call sends
  std::optional<RateProfile> profile;  // set: open loop; unset: closed loop
  Duration duration = std::chrono::seconds(10);  // closed loop (open loop: the profile's)
  Duration warmup{0};                  // sent at the first rate, not measured
  Duration timeout = std::chrono::seconds(2);
  int connections = 64;
  int threads = 1;
  std::vector<Bound> slos;
  Duration slo_window = std::chrono::seconds(10);
  // Latency thresholds (µs, at most kMaxCountWithin) to count good answers
  // within, per second: SecondRow::within.
  std::vector<std::int64_t> count_within_us;
  // Called once per measured second, in order, on an engine thread.
  std::function<void(const SecondRow& row, const obs::LatencyHistogram& corrected_interval,
                     double offset_s)>
      on_second;
  // When set (not owned; outlives the run): one line per finished measured
  // request (answered, failed or timed out; not those never sent), through
  // a buffer per load thread.
  ResultsFile* results = nullptr;
};

// Errors: InvalidArgument for a bad config, Unavailable when the target's
// address cannot be resolved. Connection failures during the run are counted
// as connect errors, not returned.
StatusOr<RunResult> RunLoad(const LoadConfig& config);

}  // namespace keel::load
