// OtlpTransport: sends one OTLP/HTTP JSON body to a collector, blocking.
// Called only from the exporter's background thread. The real one is
// OtlpHttpTransport (otlp_http_transport.h); tests use a scripted fake.
//
// Thread-safety: Post() is called from one thread at a time.
#pragma once

#include <optional>
#include <string>

#include "keel/base/clock.h"
#include "keel/base/status.h"

namespace keel::trace {

struct OtlpResult {
  Status status;        // not OK: the request did not complete (network error, timeout)
  int http_status = 0;  // when status is OK
  std::optional<Clock::duration> retry_after;  // from a Retry-After header
};

class OtlpTransport {
 public:
  virtual ~OtlpTransport() = default;
  virtual OtlpResult Post(const std::string& json_body, Clock::duration timeout) = 0;
};

}  // namespace keel::trace
