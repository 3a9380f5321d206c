// `keel serve relay`: a small HTTP gateway in front of one upstream, built
// on the core's HTTP client and its full resilience stack. It is the model of
// how a Keel service calls something that can fail, and what the resilience
// tests and the lab drive.
//
//   keel serve relay --set relay.upstream=127.0.0.1:9000 --set relay.hedge.enabled=true
//
//   GET /relay/{path}  ->  GET http://UPSTREAM/{path}?{query}
//
// Every call goes through deadline -> bulkhead -> (circuit breaker -> per-try
// timeout -> attempt, retried with full-jitter backoff within a retry budget,
// hedged after the observed percentile when the method is idempotent). The
// caller's deadline (x-envoy-expected-rq-timeout-ms) bounds the whole call and
// the remaining budget is sent upstream in the same header; the trace
// continues upstream in traceparent. Answers: the upstream's status and body;
// 503 when a policy refused the call (circuit open, bulkhead full), 504 when
// the deadline passed, 502 when the upstream failed. API, config and metrics:
// services/relay/docs/README.md.
#pragma once

#include "keel/app/serve.h"

namespace keel::relay {

app::ServiceDef RelayService();

}  // namespace keel::relay
