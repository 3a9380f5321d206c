// Tracer: creates spans for a service and decides, per trace, whether they
// are exported.
//
// What a server does per request, and what a client does per attempt:
//
//   Span s = tracer->StartServerSpan("GET /orders/{id}", req["traceparent"], req["tracestate"]);
//   obs::ScopedTraceContext log_scope(s.context());    // trace_id in every log line
//   ...
//     Span c = tracer->StartClientSpan(s.context(), "GET");   // one per attempt
//     outgoing["traceparent"] = c.context().ToHeader();       // and c.tracestate
//     ...; c.SetAttribute(attr::kHttpResponseStatusCode, std::int64_t{status});
//     tracer->End(std::move(c));
//   s.SetAttribute(attr::kHttpResponseStatusCode, std::int64_t{200});
//   tracer->End(std::move(s));
//
// Sampling is parent-based with a tail decision. The spans of one trace in
// this process are buffered until its local root (the first span of the
// trace here, normally the server span) ends; then the whole local trace is
// exported when
//   (a) the incoming traceparent had the sampled flag (never cut a caller's
//       sampled trace),
//   (b) any of its spans has status kError,
//   (c) the root lasted at least slow_threshold, or
//   (d) a random draw made at root start was below sample_ratio;
// otherwise it is dropped and counted. The sampled flag sent downstream is
// the head decision, (a) or (d): the error and slow keeps are local to this
// process — a downstream service that was not told "sampled" keeps its part
// only by its own rules, so such traces can be incomplete.
//
// Memory is bounded: at most max_pending_traces traces are buffered, and at
// most max_spans_per_trace spans each. Past either bound the extra spans are
// dropped and counted (a root that could not be buffered is still decided on
// alone when it ends). A child that ends after its local root was decided is
// exported alone when the trace was head-sampled, else dropped.
//
// Metrics: keel_trace_spans_total{result="dropped_unsampled"|"dropped_limit"}
// (the exporter adds exported / dropped_queue_full / dropped_export_failed).
//
// Thread-safety: all methods are thread-safe; spans of one trace may start and
// end on different threads. REQUIRES: every started span is ended (a root that
// never ends holds a pending slot until the tracer is destroyed).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"
#include "keel/trace/span.h"
#include "keel/trace/span_exporter.h"
#include "keel/trace/wall_clock.h"

namespace keel::trace {

struct TracerOptions {
  std::string service_name;
  double sample_ratio = 0.01;  // [0, 1]
  // Well above a healthy Keel request (single-digit ms at p99) and below the
  // usual client timeouts (1-2 s): a trace this slow is the tail an SLO
  // burns on, and keeping all of them stays a small share of traffic.
  Clock::duration slow_threshold = std::chrono::milliseconds(500);
  std::size_t max_pending_traces = 4096;
  std::size_t max_spans_per_trace = 256;
};

struct TracerSeams {
  const Clock* clock = nullptr;     // nullptr: SystemClock::Default()
  const WallClock* wall = nullptr;  // nullptr: SystemWallClock::Default()
  std::uint64_t seed = 0;           // 0: seeded from std::random_device
};

class Tracer {
 public:
  // Errors: InvalidArgument for an empty service name, a ratio outside [0, 1]
  // or zero bounds. `exporter` receives kept traces; `registry` must outlive
  // the tracer, and so must the seams' clocks.
  static StatusOr<std::unique_ptr<Tracer>> Create(TracerOptions options,
                                                  std::unique_ptr<SpanExporter> exporter,
                                                  obs::Registry& registry, TracerSeams seams = {});
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // A server span continuing `traceparent` (a new root trace when it is empty
  // or malformed). `tracestate` is kept when valid (obs::ValidTraceState) and
  // the traceparent was valid, else dropped.
  Span StartServerSpan(std::string_view name, std::string_view traceparent,
                       std::string_view tracestate = {});
  // A client span, child of `parent` (an invalid parent starts a new trace).
  // Its context() is what to send downstream as traceparent.
  Span StartClientSpan(const obs::TraceContext& parent, std::string_view name);
  // An internal span (work inside the process), child of `parent`.
  Span StartInternalSpan(const obs::TraceContext& parent, std::string_view name);
  // Ends `span` now and, for a local root, decides its trace.
  void End(Span span);

  const TracerOptions& options() const { return options_; }
  // Traces buffered now; for tests and gauges.
  std::size_t pending_traces() const;

 private:
  struct Impl;
  Tracer(TracerOptions options, std::unique_ptr<SpanExporter> exporter, obs::Registry& registry,
         TracerSeams seams);
  Span StartChild(const obs::TraceContext& parent, std::string_view name, SpanKind kind);
  Span Start(obs::TraceContext ctx, bool parent_sampled, std::string_view name, SpanKind kind,
             std::string tracestate);
  void Decide(std::vector<Span> spans, bool keep);

  const TracerOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::trace
