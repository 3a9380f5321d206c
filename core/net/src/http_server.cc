#include "keel/net/http_server.h"

#include <signal.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <thread>

#include "keel/obs/log.h"
#include "server_shared.h"
#include "worker.h"

namespace keel::net {

namespace asio = boost::asio;
using boost::system::error_code;

ServerStats ServerStats::Register(obs::Registry& registry) {
  ServerStats s{};
#define KEEL_REGISTER(field, name, help) s.field = registry.AddCounter(name, help).Get({});
  KEEL_HTTP_SERVER_COUNTERS(KEEL_REGISTER)
#undef KEEL_REGISTER
#define KEEL_REGISTER(field, name, help) s.field = registry.AddGauge(name, help).Get({});
  KEEL_HTTP_SERVER_GAUGES(KEEL_REGISTER)
#undef KEEL_REGISTER
  s.requests = &registry.AddCounter("keel_http_requests_total",
                                    "HTTP requests answered, by route pattern, method and status.",
                                    {"route", "method", "code"});
  s.request_duration = &registry.AddHistogram(
      "keel_http_request_duration_seconds",
      "Time from a complete request to its serialized response, by route and method.",
      {"route", "method"});
  s.loop_lag = &registry.AddGauge("keel_event_loop_lag_seconds",
                                  "How late the last 100 ms tick of each worker's loop ran.",
                                  {"worker"});
  return s;
}

class HttpServer::Impl {
 public:
  ServerShared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context control;
  std::uint16_t port = 0;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

namespace {

void AddStandardRoutes(Router& router, HttpServer::Impl* impl, obs::Registry& registry) {
  auto add_if_missing = [&](std::string pattern, Handler h) {
    for (const auto& r : router.routes()) {
      if (r.pattern == pattern && r.method == Method::kGet) return;
    }
    (void)router.Add(Method::kGet, std::move(pattern), std::move(h));
  };
  add_if_missing("/healthz", [](const Request&, Response& res) {
    res.set_content_type("application/json");
    res.body() = "{\"status\":\"ok\"}";
  });
  add_if_missing("/readyz", [impl](const Request&, Response& res) {
    res.set_content_type("application/json");
    if (impl->shared.draining.load()) {
      res.set_status(503);
      res.body() = "{\"status\":\"draining\"}";
    } else {
      res.body() = "{\"status\":\"ready\"}";
    }
  });
  add_if_missing("/metrics", [&registry](const Request& req, Response& res) {
    obs::ExpositionFormat format = obs::NegotiateFormat(req.header("accept"));
    res.set_content_type(obs::ContentType(format));
    res.body() = registry.Render(format);
  });
}

}  // namespace

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(HttpServerOptions options, Router router,
                                                         obs::Registry& registry) {
  if (options.threads < 1 || options.threads > 1024) {
    return InvalidArgument("threads must be in [1, 1024], got " + std::to_string(options.threads));
  }
  error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return InvalidArgument("invalid listen address '" + options.host + "'");

  auto impl = std::make_unique<Impl>();
  impl->shared.options = options;
  impl->shared.router = std::move(router);
  impl->shared.stats = ServerStats::Register(registry);
  AddStandardRoutes(impl->shared.router, impl.get(), registry);
  // Probes and scrapes must answer when the service sheds: they are how the
  // operator sees it is overloaded.
  for (const auto& r : impl->shared.router.routes()) {
    impl->shared.admission_exempt.push_back(
        r.method == Method::kGet &&
        (r.pattern == "/healthz" || r.pattern == "/readyz" || r.pattern == "/metrics"));
  }

  // The first listener picks the port (maybe 0 -> ephemeral); the others
  // join it through SO_REUSEPORT.
  asio::ip::tcp::endpoint endpoint(address, options.port);
  for (int i = 0; i < options.threads; ++i) {
    auto worker = std::make_unique<Worker>(i, impl->shared);
    Status st = worker->Listen(endpoint);
    if (!st.ok()) return st;
    if (i == 0) {
      impl->port = worker->port();
      endpoint.port(impl->port);
    }
    impl->workers.push_back(std::move(worker));
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const { return impl_->port; }

bool HttpServer::draining() const { return impl_->shared.draining.load(); }

void HttpServer::Shutdown() {
  asio::post(impl_->control, [impl = impl_.get()] {
    if (impl->shared.draining.exchange(true)) return;
    for (auto& w : impl->workers) w->BeginDrain();
  });
}

void HttpServer::Run(bool handle_signals, const std::function<void()>& on_started) {
  ::signal(SIGPIPE, SIG_IGN);
  Impl& impl = *impl_;
  // Signal handlers first: a SIGTERM that arrives once we serve must drain.
  asio::signal_set signals(impl.control);
  if (handle_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait([this](const error_code& ec, int signo) {
      if (ec) return;
      obs::Log(obs::LogLevel::kInfo, "shutting down", {{"signal", signo}});
      Shutdown();
    });
  }
  std::vector<std::thread> threads;
  for (auto& w : impl.workers) threads.emplace_back([worker = w.get()] { worker->Run(); });
  if (on_started) on_started();

  // Once draining, poll until every connection is gone or the deadline passes.
  asio::steady_timer poll(impl.control);
  std::chrono::steady_clock::time_point deadline{};
  std::function<void()> check = [&] {
    poll.expires_after(std::chrono::milliseconds(20));
    poll.async_wait([&](const error_code& ec) {
      if (ec) return;
      auto now = std::chrono::steady_clock::now();
      if (impl.shared.draining.load()) {
        if (deadline == std::chrono::steady_clock::time_point{}) {
          deadline = now + impl.shared.options.shutdown_timeout;
        }
        std::size_t open = impl.shared.connections.load();
        if (open == 0 || now >= deadline) {
          if (open > 0) {
            obs::Log(obs::LogLevel::kWarn, "shutdown deadline passed; closing connections",
                     {{"open", static_cast<std::uint64_t>(open)}});
          }
          signals.cancel();
          for (auto& w : impl.workers) w->Stop();
          return;
        }
      }
      check();
    });
  };
  check();
  impl.control.run();
  for (auto& t : threads) t.join();
  obs::Log(obs::LogLevel::kInfo, "stopped");
}

}  // namespace keel::net
