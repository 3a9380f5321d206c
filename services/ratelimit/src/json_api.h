// Envoy RLS v3 messages in proto3 JSON, for POST /json and the admin API:
// a parser for RateLimitRequest and a writer for RateLimitResponse.
//
// The parser reads proto3 JSON as protobuf's JsonStringToMessage does with
// ignore_unknown_fields: field names in snake_case or lowerCamelCase,
// integers as JSON numbers or decimal strings, enums by name or number, null
// as the field's default, unknown fields skipped. One extension: a negative
// hits_addend (request-wide or per descriptor) is a refund.
//
//   JsonRequestParser parser;                 // one per thread, reused
//   RateLimitInput input;
//   Status st = parser.Parse(req.body, &input);
//   // 400 with st.message() when !st.ok(); else decide, then
//   AppendResponseJson(output, &res.body());
//
// The views in `input` point into the parser's buffers: valid until the
// parser's next Parse() or its destruction. In the steady state (requests no
// larger than ones seen before on the same parser) Parse() allocates nothing.
//
// Thread-safety: a parser belongs to one thread; AppendResponseJson is
// thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "keel/base/status.h"
#include "keel/ratelimit/rls_types.h"

namespace keel::ratelimit {

class JsonRequestParser {
 public:
  JsonRequestParser();
  ~JsonRequestParser();
  JsonRequestParser(const JsonRequestParser&) = delete;
  JsonRequestParser& operator=(const JsonRequestParser&) = delete;

  // Parses `body` (a RateLimitRequest) into *input, reusing its vectors.
  // Errors: InvalidArgument naming the field, e.g.
  // "descriptors[1].entries: required non-empty list", or "body is not
  // valid JSON (...)". On error *input is unspecified.
  Status Parse(std::string_view body, RateLimitInput* input);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Appends `out` as a RateLimitResponse in proto3 JSON (lowerCamelCase names,
// default values omitted, durations as "1.500s").
void AppendResponseJson(const RateLimitOutput& out, std::string* body);

// proto3 JSON for a google.protobuf.Duration, as protobuf writes it: "60s",
// "0.250s", "0.000001s", "-1.000000001s".
void AppendDurationJson(Duration d, std::string* out);

}  // namespace keel::ratelimit
