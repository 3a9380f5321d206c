// OTLP/HTTP JSON encoding of spans: one ExportTraceServiceRequest body for
// POST /v1/traces (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
//
//   {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",
//     "value":{"stringValue":"orders"}}]},"scopeSpans":[{"scope":{"name":"keel",
//     "version":"0.1.0"},"spans":[{"traceId":"4bf9...","spanId":"00f0...", ...}]}]}]}
//
// Follows the OTLP JSON rules: trace and span ids are lower-case hex (not
// proto3's base64), 64-bit integers (times, intValue) are decimal strings,
// enums (kind, status code) are integers, and empty fields are omitted.
//
//   std::string body = EncodeOtlpJson(spans, {.service_name = "orders"});
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <vector>

#include "keel/trace/span.h"

namespace keel::trace {

struct OtlpResource {
  std::string service_name;
  std::string scope_name = "keel";
  std::string scope_version = "0.1.0";
};

std::string EncodeOtlpJson(const std::vector<Span>& spans, const OtlpResource& resource);

}  // namespace keel::trace
