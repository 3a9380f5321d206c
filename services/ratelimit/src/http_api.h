// The rate limiter's HTTP front end: POST /json (Envoy RLS messages in
// proto3 JSON, answered 200 or 429 with RateLimit-* and Retry-After
// headers). The admin API (/v1/...) is admin_http.h.
#pragma once

#include "keel/base/status.h"
#include "keel/net/router.h"
#include "keel/ratelimit/limiter.h"

namespace keel::ratelimit {

// REQUIRES: `limiter` outlives the router's use.
Status AddHttpApi(net::Router& router, Limiter& limiter);

}  // namespace keel::ratelimit
