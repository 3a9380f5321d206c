// The rate limiter's HTTP admin API: the Admin core (admin.h) under /v1,
// every route behind `Authorization: Bearer <token>` (401 otherwise; 404 for
// every route while no admin.token_file is set). Errors are JSON,
// {"error": "<reason>", "code": <status>}, with the status admin.h maps.
//
//   GET    /v1/config                              the rules file as loaded (YAML)
//   POST   /v1/config/reload                       {"reloaded":true,"rules":N,"domains":M}
//   GET    /v1/rules[?domain=D]                    {"rules":[...]}
//   GET    /v1/keys?domain=D&descriptor=k=v[,k2=v2]   the state, as POST /json answers (0 hits)
//   DELETE /v1/keys?domain=D&descriptor=...        reset to full: 204
//   PUT    /v1/overrides   {"domain", "entries":[{"key","value"}], "limit":{...}, "ttl":"10m"}
//   GET    /v1/overrides[?domain=D]                {"overrides":[...]}
//   DELETE /v1/overrides?domain=D&descriptor=...   204
//
// Formats are in services/ratelimit/docs/README.md ("Admin API").
#pragma once

#include <memory>

#include "admin.h"
#include "keel/base/status.h"
#include "keel/net/router.h"

namespace keel::ratelimit {

Status AddAdminHttpApi(net::Router& router, std::shared_ptr<Admin> admin);

}  // namespace keel::ratelimit
