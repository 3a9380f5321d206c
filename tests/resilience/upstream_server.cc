// A test upstream for the resilience and tracing tests: a keel HTTP server
// with a known capacity, so overload, timeouts and hedging have something
// real to act on.
//
//   GET /hello   answers "hello" at once
//   GET /work    holds its worker thread for WORK_MS, then answers "done": the
//                server completes at most THREADS * 1000 / WORK_MS requests a
//                second, and requests beyond that queue on their connections
//   GET /status/{code}  answers with that status (e.g. 503), for failure tests
//   GET /fail    answers 500
//
//   upstream_server [THREADS=2] [WORK_MS=5]
// Prints {"port": N} on stdout once listening on 127.0.0.1 (a free port).
// Every request is counted in keel_http_requests_total on /metrics.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "keel/net/http_server.h"
#include "keel/obs/metrics.h"

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const auto work = std::chrono::milliseconds(argc > 2 ? std::atoi(argv[2]) : 5);

  using keel::net::Method;
  using keel::net::Request;
  using keel::net::Response;
  keel::net::Router router;
  (void)router.Add(Method::kGet, "/hello", [](const Request&, Response& res) {
    res.set_content_type("text/plain");
    res.body() = "hello";
  });
  (void)router.Add(Method::kGet, "/work", [work](const Request&, Response& res) {
    std::this_thread::sleep_for(work);
    res.set_content_type("text/plain");
    res.body() = "done";
  });
  (void)router.Add(Method::kGet, "/status/{code}", [](const Request& req, Response& res) {
    int code = std::atoi(std::string(req.param("code")).c_str());
    if (code < 200 || code > 599) code = 400;
    res.SetError(code, "status requested by the test");
  });
  (void)router.Add(Method::kGet, "/fail", [](const Request&, Response& res) {
    res.SetError(500, "failure requested by the test");
  });
  keel::net::HttpServerOptions options;
  options.threads = threads;
  keel::obs::Registry registry;
  auto server = keel::net::HttpServer::Create(options, std::move(router), registry);
  if (!server.ok()) {
    std::fprintf(stderr, "upstream_server: %s\n", server.status().message().c_str());
    return 1;
  }
  (*server)->Run(/*handle_signals=*/true, [&] {
    std::printf("{\"port\": %u}\n", static_cast<unsigned>((*server)->port()));
    std::fflush(stdout);
  });
  return 0;
}
