// Span: one timed operation of a trace, as the Tracer records it and the
// exporter sends it (OpenTelemetry's data model, trimmed to what Keel uses).
//
// Attribute keys follow the OpenTelemetry semantic conventions; the ones the
// HTTP server and client set are named below so every service spells them
// the same way:
//
//   trace::Span span = tracer->StartServerSpan("GET /orders/{id}", traceparent, tracestate);
//   span.SetAttribute(trace::attr::kHttpRequestMethod, "GET");
//   span.SetAttribute(trace::attr::kHttpResponseStatusCode, std::int64_t{503});
//   span.SetStatus(trace::SpanStatus::kError, "upstream unavailable");
//   tracer->End(std::move(span));
//
// Thread-safety: a value; one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "keel/base/clock.h"
#include "keel/obs/trace_context.h"

namespace keel::trace {

enum class SpanKind { kInternal, kServer, kClient };
enum class SpanStatus { kUnset, kOk, kError };

// OpenTelemetry semantic-convention attribute names.
namespace attr {
inline constexpr std::string_view kHttpRequestMethod = "http.request.method";
inline constexpr std::string_view kUrlPath = "url.path";
inline constexpr std::string_view kHttpRoute = "http.route";
inline constexpr std::string_view kHttpResponseStatusCode = "http.response.status_code";
inline constexpr std::string_view kServerAddress = "server.address";
inline constexpr std::string_view kServerPort = "server.port";
inline constexpr std::string_view kErrorType = "error.type";
inline constexpr std::string_view kHttpRequestResendCount = "http.request.resend_count";
}  // namespace attr

struct Attribute {
  std::string key;
  std::variant<std::string, std::int64_t, double, bool> value;
};

struct Span {
  // ctx.trace_id / span_id / parent_span_id are the span's ids; ctx.flags
  // bit 0 is the head sampling decision sent downstream.
  obs::TraceContext ctx;
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  std::int64_t start_unix_nanos = 0;
  std::int64_t end_unix_nanos = 0;  // set by Tracer::End
  SpanStatus status = SpanStatus::kUnset;
  std::string status_message;       // only meaningful for kError
  std::vector<Attribute> attributes;
  std::string tracestate;           // W3C tracestate, carried unchanged

  // Maintained by the Tracer: the monotonic start (durations never use wall
  // time) and whether this span is the first one of its trace in this process.
  Clock::time_point start_mono{};
  bool local_root = false;

  void SetAttribute(std::string_view key, std::string_view v);
  void SetAttribute(std::string_view key, const char* v) { SetAttribute(key, std::string_view(v)); }
  void SetAttribute(std::string_view key, std::int64_t v);
  void SetAttribute(std::string_view key, int v) { SetAttribute(key, std::int64_t{v}); }
  void SetAttribute(std::string_view key, double v);
  void SetAttribute(std::string_view key, bool v);
  void SetStatus(SpanStatus s, std::string_view message = {});

  bool sampled() const { return (ctx.flags & 1) != 0; }
  // The context to send downstream (traceparent of a client call, or the
  // parent of a child span).
  const obs::TraceContext& context() const { return ctx; }
};

}  // namespace keel::trace
