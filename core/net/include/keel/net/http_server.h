// HTTP/1.1 server runtime shared by every Keel service.
//
// N worker threads each run their own event loop and accept on their own
// SO_REUSEPORT listener, so connections never move between threads. Requests
// are parsed in place, answered in order (pipelining included) and written
// with one send per batch. Limits on header and body size, header-read and
// idle time are enforced and answered with 431/413/408 JSON errors. Every
// request is counted per route (RED) and every worker reports its event-loop
// lag; the standard routes /healthz, /readyz and /metrics are added here.
//
//   Router router;
//   router.Add(Method::kGet, "/hello", Hello);
//   auto server = HttpServer::Create(options, std::move(router), obs::DefaultRegistry());
//   if (!server.ok()) return Fail(server.status());
//   (*server)->Run(/*handle_signals=*/true);  // returns after a graceful drain
//
// Shutdown (SIGTERM/SIGINT or Shutdown()): stop accepting, close idle
// connections, let requests in flight finish and close their connections
// after the response, and force-close what is left at shutdown_timeout.
//
// Thread-safety: Shutdown(), port() and draining() may be called from any
// thread; Run() once, from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/net/http_parser.h"
#include "keel/net/router.h"
#include "keel/obs/metrics.h"

namespace keel::trace {
class Tracer;
}  // namespace keel::trace
namespace keel::resilience {
class LoadShedder;
}  // namespace keel::resilience

namespace keel::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: pick a free port, see HttpServer::port()
  int threads = 1;
  ParserLimits limits;
  Duration header_timeout = std::chrono::seconds(10);   // first byte to end of header
  Duration idle_timeout = std::chrono::seconds(60);     // keep-alive wait, stalled body or write
  Duration shutdown_timeout = std::chrono::seconds(10);
  std::size_t max_connections = 50000;
  bool access_log = false;  // one JSON log line per request
  // Server spans for every request (continuing the caller's traceparent and
  // tracestate), their trace ids as exemplars on the duration histogram and in
  // the handler's log lines. Null: no spans; traceparent is still continued.
  // Not owned; must outlive the server.
  trace::Tracer* tracer = nullptr;
  // Server-side admission control: every request to a route other than
  // GET /healthz, /readyz and /metrics takes a token of its priority
  // (`x-keel-priority`: critical|normal|low) before its handler runs; one the
  // shedder rejects is answered 503 + `Retry-After` without running it. The
  // token is completed when the response is ready: 503/504 as a drop (an
  // overload signal for the adaptive limit), other 4xx as no sample, every
  // other status as a success with the time since dispatch as its RTT.
  // Null: no admission control. Not owned; must outlive the server.
  resilience::LoadShedder* admission = nullptr;
};

class HttpServer {
 public:
  // Binds the listeners. Errors: InvalidArgument for bad options, Unavailable
  // when the address cannot be bound.
  static StatusOr<std::unique_ptr<HttpServer>> Create(HttpServerOptions options, Router router,
                                                      obs::Registry& registry);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  // Serves until Shutdown() or, when handle_signals, SIGTERM/SIGINT; returns
  // once drained (or forced at shutdown_timeout). on_started runs once the
  // signal handlers are installed and the workers are running.
  void Run(bool handle_signals, const std::function<void()>& on_started = {});
  void Shutdown();
  bool draining() const;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::net
