// `keel serve ratelimit`: the rate limiter as a service.
//
//   keel serve ratelimit --config ratelimit.yaml [--http ADDR] [--grpc ADDR]
//                        [--admin-token-file FILE]
//
// The config file holds the rules in envoyproxy/ratelimit's format (see
// rule_config.h) and may also hold Keel's own keys (http.*, log.*, grpc.*,
// admin.*, ratelimit.*). It is watched: a changed file is swapped in
// atomically; an invalid one keeps the old rules, and is logged and counted.
// Front ends: Envoy RLS v3 over gRPC, POST /json over HTTP, and an admin API
// behind a bearer token. API and config reference: services/ratelimit/docs.
#pragma once

#include "keel/app/serve.h"

namespace keel::ratelimit {

app::ServiceDef RateLimitService();

}  // namespace keel::ratelimit
