// W3C Trace Context (https://www.w3.org/TR/trace-context/) `traceparent`.
//
//   traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//                ver trace-id (16 bytes)             parent-id (8)    flags
//
// A server continues the caller's trace: it keeps the trace id and flags,
// makes a new span id for its own work and returns that in its response.
// A missing or invalid header starts a new trace.
//
//   TraceContext ctx = TraceContext::ContinueOrStart(request.header("traceparent"));
//   response.set_header("traceparent", ctx.ToHeader());
//
// W3C `tracestate` (vendor data riding along with traceparent) is carried
// through unchanged when ValidTraceState() accepts it, else dropped.
//
// ScopedTraceContext makes a context the calling thread's current one for a
// scope; Log() adds its trace_id/span_id to every line written meanwhile:
//
//   obs::ScopedTraceContext scope(span.context());
//   obs::Log(obs::LogLevel::kInfo, "charged");   // ... "trace_id":"4bf9...","span_id":"00f0..."
//
// Thread-safety: values. New ids come from a per-thread generator; the
// current context is per thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keel::obs {

struct TraceContext {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};         // this span
  std::array<std::uint8_t, 8> parent_span_id{};  // all zero when this span is a root
  std::uint8_t flags = 0;

  static constexpr std::size_t kHeaderSize = 55;
  using HeaderBuf = std::array<char, kHeaderSize>;

  // Parses a traceparent value; nullopt when malformed (wrong length, upper-case
  // hex, version ff, all-zero ids). Versions above 00 are read as 00 would be.
  static std::optional<TraceContext> Parse(std::string_view header);
  // A child span of `header`'s span, or a new root span when header is invalid.
  static TraceContext ContinueOrStart(std::string_view header);

  bool has_parent() const;
  // 00-<trace-id>-<span-id>-<flags>, exactly kHeaderSize characters.
  HeaderBuf ToHeader() const;
  // Lower-case hex of the ids, for logs.
  std::array<char, 32> TraceIdHex() const;
  std::array<char, 16> SpanIdHex() const;
};

// True when `tracestate` is a valid W3C tracestate value: at most 512
// characters and 32 list members, each `key=value` with a well-formed key
// (lower-case simple or tenant@system) and value (printable ASCII without
// ',' and '=', not ending in a space). Empty list members are allowed.
bool ValidTraceState(std::string_view tracestate);

// The calling thread's current trace context, nullptr outside any scope.
const TraceContext* CurrentTraceContext();

// Sets the current context for this thread until destroyed, then restores
// the previous one (scopes nest). Not movable: a scope is a stack frame.
class ScopedTraceContext {
 public:
  explicit ScopedTraceContext(const TraceContext& ctx);
  ~ScopedTraceContext();
  ScopedTraceContext(const ScopedTraceContext&) = delete;
  ScopedTraceContext& operator=(const ScopedTraceContext&) = delete;

 private:
  TraceContext ctx_;
  const TraceContext* previous_;
};

}  // namespace keel::obs
