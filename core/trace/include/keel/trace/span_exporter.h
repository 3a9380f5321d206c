// SpanExporter: where the Tracer hands the spans of each kept trace.
//
// Export() is called on the thread that ended the trace's local root span, so
// it must not block (queue the spans and return). BatchSpanExporter
// (exporter.h) is the production implementation; tests use a recording fake.
//
// Thread-safety: implementations must accept concurrent Export() calls.
#pragma once

#include <vector>

#include "keel/trace/span.h"

namespace keel::trace {

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  virtual void Export(std::vector<Span> spans) = 0;
};

}  // namespace keel::trace
