// The rate limiter's HTTP front end: POST /json (Envoy RLS messages in
// proto3 JSON, answered 200 or 429 with RateLimit-* and Retry-After
// headers) and the admin API (/v1/config, /v1/config/reload, /v1/keys)
// behind a bearer token.
#pragma once

#include <functional>
#include <string>

#include "keel/base/status.h"
#include "keel/net/router.h"
#include "keel/ratelimit/limiter.h"

namespace keel::ratelimit {

struct HttpApiOptions {
  std::string admin_token;  // empty: the admin API answers 404
  // Reloads the rules file now; returns why not.
  std::function<Status()> reload;
};

// REQUIRES: `limiter` outlives the router's use.
Status AddHttpApi(net::Router& router, Limiter& limiter, HttpApiOptions options);

}  // namespace keel::ratelimit
