#include "keel/trace/otlp_json.h"

#include <cmath>
#include <cstdio>

#include "keel/base/json_string.h"

namespace keel::trace {
namespace {

// OTLP's SpanKind numbers: SPAN_KIND_INTERNAL = 1, SERVER = 2, CLIENT = 3.
int KindNumber(SpanKind k) {
  switch (k) {
    case SpanKind::kServer: return 2;
    case SpanKind::kClient: return 3;
    case SpanKind::kInternal: break;
  }
  return 1;
}

int StatusNumber(SpanStatus s) {
  switch (s) {
    case SpanStatus::kOk: return 1;
    case SpanStatus::kError: return 2;
    case SpanStatus::kUnset: break;
  }
  return 0;
}

void AppendKey(std::string* out, std::string_view key) {
  AppendJsonString(out, key);
  out->push_back(':');
}

void AppendValue(std::string* out, const Attribute& a) {
  out->append("{");
  if (auto* s = std::get_if<std::string>(&a.value)) {
    AppendKey(out, "stringValue");
    AppendJsonString(out, *s);
  } else if (auto* i = std::get_if<std::int64_t>(&a.value)) {
    out->append("\"intValue\":\"").append(std::to_string(*i)).append("\"");
  } else if (auto* d = std::get_if<double>(&a.value)) {
    if (std::isfinite(*d)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      out->append("\"doubleValue\":").append(buf);
    } else {
      // proto3 JSON spells non-finite doubles as strings.
      out->append("\"doubleValue\":\"")
          .append(std::isnan(*d) ? "NaN" : (*d > 0 ? "Infinity" : "-Infinity"))
          .append("\"");
    }
  } else {
    out->append("\"boolValue\":").append(std::get<bool>(a.value) ? "true" : "false");
  }
  out->append("}");
}

void AppendAttributes(std::string* out, const std::vector<Attribute>& attrs) {
  out->append("\"attributes\":[");
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"key\":");
    AppendJsonString(out, attrs[i].key);
    out->append(",\"value\":");
    AppendValue(out, attrs[i]);
    out->append("}");
  }
  out->append("]");
}

void AppendSpan(std::string* out, const Span& s) {
  auto trace = s.ctx.TraceIdHex();
  auto span = s.ctx.SpanIdHex();
  out->append("{\"traceId\":\"").append(trace.data(), trace.size());
  out->append("\",\"spanId\":\"").append(span.data(), span.size()).append("\"");
  if (s.ctx.has_parent()) {
    obs::TraceContext parent;
    parent.span_id = s.ctx.parent_span_id;
    auto p = parent.SpanIdHex();
    out->append(",\"parentSpanId\":\"").append(p.data(), p.size()).append("\"");
  }
  if (!s.tracestate.empty()) {
    out->append(",\"traceState\":");
    AppendJsonString(out, s.tracestate);
  }
  out->append(",\"name\":");
  AppendJsonString(out, s.name);
  out->append(",\"kind\":").append(std::to_string(KindNumber(s.kind)));
  out->append(",\"startTimeUnixNano\":\"").append(std::to_string(s.start_unix_nanos));
  out->append("\",\"endTimeUnixNano\":\"").append(std::to_string(s.end_unix_nanos)).append("\",");
  AppendAttributes(out, s.attributes);
  out->append(",\"status\":{");
  if (s.status != SpanStatus::kUnset) {
    out->append("\"code\":").append(std::to_string(StatusNumber(s.status)));
    if (!s.status_message.empty()) {
      out->append(",\"message\":");
      AppendJsonString(out, s.status_message);
    }
  }
  out->append("}}");
}

}  // namespace

std::string EncodeOtlpJson(const std::vector<Span>& spans, const OtlpResource& resource) {
  std::string out;
  out.reserve(256 + spans.size() * 400);
  out.append("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
             "\"value\":{\"stringValue\":");
  AppendJsonString(&out, resource.service_name);
  out.append("}}]},\"scopeSpans\":[{\"scope\":{\"name\":");
  AppendJsonString(&out, resource.scope_name);
  out.append(",\"version\":");
  AppendJsonString(&out, resource.scope_version);
  out.append("},\"spans\":[");
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendSpan(&out, spans[i]);
  }
  out.append("]}]}]}");
  return out;
}

}  // namespace keel::trace
