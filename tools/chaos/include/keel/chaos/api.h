// The Toxiproxy 2.x HTTP API on Keel's router:
//
//   GET  /proxies                      POST /proxies          POST /populate
//   GET|POST|PATCH|DELETE /proxies/{proxy}
//   GET|POST /proxies/{proxy}/toxics
//   GET|POST|PATCH|DELETE /proxies/{proxy}/toxics/{toxic}
//   POST /reset                        GET  /version
//
// Bodies are JSON; errors are {"error": "...", "status": N}. As Toxiproxy,
// requests whose User-Agent starts with "Mozilla/" get 403 (a browser page
// must not drive the proxy). /healthz, /readyz and /metrics come from
// HttpServer.
//
// Thread-safety: the handlers may run on any server worker; `proxies` must
// outlive the server.
#pragma once

#include "keel/base/status.h"
#include "keel/chaos/proxy_registry.h"
#include "keel/net/router.h"

namespace keel::chaos {

Status AddApiRoutes(net::Router& router, ProxyRegistry& proxies);

}  // namespace keel::chaos
