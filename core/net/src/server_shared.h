// State every worker of one HttpServer reads: options, routes, metrics.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "keel/net/http_server.h"
#include "keel/obs/metrics.h"

namespace keel::net {

// The server's own counters and gauges, declared once.
#define KEEL_HTTP_SERVER_COUNTERS(X)                                                            \
  X(connections_accepted, "keel_http_connections_accepted_total", "Connections accepted.")     \
  X(connections_rejected, "keel_http_connections_rejected_total",                              \
    "Connections closed at once because max_connections was reached.")                         \
  X(accept_errors, "keel_http_accept_errors_total", "Failed accept calls.")                    \
  X(bad_requests, "keel_http_bad_requests_total", "Requests rejected as malformed (400/505).") \
  X(header_too_large, "keel_http_header_too_large_total", "Requests rejected with 431.")       \
  X(body_too_large, "keel_http_body_too_large_total", "Requests rejected with 413.")           \
  X(header_timeouts, "keel_http_header_timeouts_total",                                        \
    "Connections answered 408 because the header did not arrive in time.")                     \
  X(idle_timeouts, "keel_http_idle_timeouts_total", "Connections closed for inactivity.")      \
  X(handler_exceptions, "keel_http_handler_exceptions_total",                                  \
    "Handlers that threw; answered 500.")                                                       \
  X(responders_dropped, "keel_http_responders_dropped_total",                                  \
    "Async handlers whose Responder was destroyed without Send(); answered 500.")

#define KEEL_HTTP_SERVER_GAUGES(X)                                                         \
  X(connections_open, "keel_http_connections_open", "Open client connections.")           \
  X(requests_in_flight, "keel_http_requests_in_flight",                                   \
    "Requests being read, handled or written.")

struct ServerStats {
#define KEEL_DECLARE(field, name, help) obs::Counter* field;
  KEEL_HTTP_SERVER_COUNTERS(KEEL_DECLARE)
#undef KEEL_DECLARE
#define KEEL_DECLARE(field, name, help) obs::Gauge* field;
  KEEL_HTTP_SERVER_GAUGES(KEEL_DECLARE)
#undef KEEL_DECLARE
  obs::CounterFamily* requests;             // {route, method, code}
  obs::HistogramFamily* request_duration;  // {route, method}
  obs::GaugeFamily* loop_lag;              // {worker}

  static ServerStats Register(obs::Registry& registry);
};

struct ServerShared {
  HttpServerOptions options;
  Router router;
  ServerStats stats;
  // Indexed by route: true for the routes admission control never sheds.
  std::vector<bool> admission_exempt;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> connections{0};
};

}  // namespace keel::net
