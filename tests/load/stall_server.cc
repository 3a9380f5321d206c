// A test server that stops answering for a while once every period, like a
// process pausing for garbage collection: GET /hello answers "hello", but a
// request handled within the first `stall` of each `period` (since start)
// waits until the stall is over. One worker thread, so the whole server stalls.
//
//   stall_server [STALL_MS=200] [PERIOD_MS=1000]
// Prints {"port": N} on stdout once listening on 127.0.0.1 (a free port).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "keel/net/http_server.h"
#include "keel/obs/metrics.h"

int main(int argc, char** argv) {
  using namespace std::chrono;
  const auto stall = milliseconds(argc > 1 ? std::atoi(argv[1]) : 200);
  const auto period = milliseconds(argc > 2 ? std::atoi(argv[2]) : 1000);
  const auto start = steady_clock::now();

  keel::net::Router router;
  (void)router.Add(keel::net::Method::kGet, "/hello",
                   [&](const keel::net::Request&, keel::net::Response& res) {
                     auto phase = (steady_clock::now() - start) % period;
                     if (phase < stall) std::this_thread::sleep_for(stall - phase);
                     res.set_content_type("text/plain");
                     res.body() = "hello";
                   });
  keel::net::HttpServerOptions options;
  options.threads = 1;
  keel::obs::Registry registry;
  auto server = keel::net::HttpServer::Create(options, std::move(router), registry);
  if (!server.ok()) {
    std::fprintf(stderr, "stall_server: %s\n", server.status().message().c_str());
    return 1;
  }
  (*server)->Run(/*handle_signals=*/true, [&] {
    std::printf("{\"port\": %u}\n", static_cast<unsigned>((*server)->port()));
    std::fflush(stdout);
  });
  return 0;
}
