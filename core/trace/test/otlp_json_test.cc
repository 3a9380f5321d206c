#include "keel/trace/otlp_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace keel::trace {
namespace {

Span Example() {
  Span s;
  s.ctx = *obs::TraceContext::Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  s.ctx.span_id = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  s.name = "GET /orders/{id}";
  s.kind = SpanKind::kServer;
  s.start_unix_nanos = 1700000000000000000;
  s.end_unix_nanos = 1700000000003000000;
  s.tracestate = "a=1";
  s.SetAttribute(attr::kHttpRequestMethod, "GET");
  s.SetAttribute(attr::kHttpResponseStatusCode, 503);
  s.SetAttribute("ratio", 0.5);
  s.SetAttribute("retry", true);
  s.SetStatus(SpanStatus::kError, "upstream \"down\"");
  return s;
}

TEST(OtlpJsonTest, GoldenEncoding) {
  std::string got = EncodeOtlpJson({Example()}, {"orders"});
  std::string want =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},)"
      R"("scopeSpans":[{"scope":{"name":"keel","version":"0.1.0"},"spans":[{)"
      R"("traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"1122334455667788",)"
      R"("parentSpanId":"00f067aa0ba902b7","traceState":"a=1","name":"GET /orders/{id}","kind":2,)"
      R"("startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000003000000",)"
      R"("attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}},)"
      R"({"key":"http.response.status_code","value":{"intValue":"503"}},)"
      R"({"key":"ratio","value":{"doubleValue":0.5}},{"key":"retry","value":{"boolValue":true}}],)"
      R"("status":{"code":2,"message":"upstream \"down\""}}]}]}]})";
  EXPECT_EQ(got, want);
}

TEST(OtlpJsonTest, ParsesBack) {
  Span root = Example();
  root.ctx.parent_span_id = {};
  root.status = SpanStatus::kUnset;
  root.kind = SpanKind::kClient;
  auto j = nlohmann::json::parse(EncodeOtlpJson({Example(), root}, {"orders"}));
  const auto& spans = j["resourceSpans"][0]["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0]["kind"], 2);
  EXPECT_EQ(spans[0]["status"]["code"], 2);
  EXPECT_EQ(spans[1]["kind"], 3);
  EXPECT_FALSE(spans[1].contains("parentSpanId"));
  EXPECT_TRUE(spans[1]["status"].empty());
  EXPECT_EQ(j["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], "orders");
}

}  // namespace
}  // namespace keel::trace
