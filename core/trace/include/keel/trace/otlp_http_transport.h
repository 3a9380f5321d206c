// OtlpHttpTransport: POSTs OTLP JSON to <endpoint>/v1/traces over plain HTTP
// (Content-Type: application/json), one connection per request.
//
// A small blocking client used only by the exporter's background thread. It
// is separate from core/net's pooled async client because trace sits below
// net in the dependency graph (net creates server and client spans), and a
// once-a-second POST to a local collector gains nothing from pooling.
//
//   StatusOr<OtlpEndpoint> ep = ParseOtlpEndpoint("http://127.0.0.1:4318");
//   auto transport = std::make_unique<OtlpHttpTransport>(*ep);
//
// https is rejected (run a local collector; it handles TLS upstream).
// Thread-safety: Post() from one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/base/status.h"
#include "keel/trace/otlp_transport.h"

namespace keel::trace {

struct OtlpEndpoint {
  std::string host;
  std::uint16_t port = 80;
  std::string path;  // "/v1/traces", after any base path of the endpoint
};

// Accepts http://host[:port][/base]; errors (InvalidArgument) name the problem.
StatusOr<OtlpEndpoint> ParseOtlpEndpoint(std::string_view url);

class OtlpHttpTransport final : public OtlpTransport {
 public:
  explicit OtlpHttpTransport(OtlpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
  OtlpResult Post(const std::string& json_body, Clock::duration timeout) override;

 private:
  const OtlpEndpoint endpoint_;
};

}  // namespace keel::trace
