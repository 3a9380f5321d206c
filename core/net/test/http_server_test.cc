#include "keel/net/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "blocking_client.h"
#include "keel/obs/metrics.h"

namespace keel::net {
namespace {

using namespace std::chrono_literals;

using namespace keel::net::testing;  // NOLINT

Router TestRouter() {
  Router router;
  (void)router.Add(Method::kGet, "/hello", [](const Request&, Response& res) {
    res.set_content_type("text/plain");
    res.body() = "hello";
  });
  (void)router.Add(Method::kPost, "/echo", [](const Request& req, Response& res) {
    res.body().assign(req.body);
  });
  (void)router.Add(Method::kGet, "/users/{id}", [](const Request& req, Response& res) {
    res.body().assign(req.param("id"));
  });
  (void)router.Add(Method::kGet, "/boom",
                   [](const Request&, Response&) { throw std::runtime_error("kaboom"); });
  return router;
}

class HttpServerTest : public ::testing::Test {
 protected:
  static HttpServerOptions Options() {
    HttpServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.shutdown_timeout = 1s;
    return options;
  }

  void Start(HttpServerOptions options = Options(), Router router = TestRouter()) {
    auto server = HttpServer::Create(std::move(options), std::move(router), registry_);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
    std::promise<void> returned;
    run_returned_ = returned.get_future();
    thread_ = std::thread([this, returned = std::move(returned)]() mutable {
      server_->Run(/*handle_signals=*/false);
      returned.set_value();
    });
  }

  // Shuts the server down and reports whether Run returned within `limit`.
  bool Stop(std::chrono::milliseconds limit = 3000ms) {
    if (!thread_.joinable()) return true;
    server_->Shutdown();
    bool returned = run_returned_.wait_for(limit) == std::future_status::ready;
    thread_.join();  // bounded anyway by shutdown_timeout
    return returned;
  }

  void TearDown() override { EXPECT_TRUE(Stop()); }

  // 0 (nothing to connect to) when Start() failed, so the test fails cleanly.
  std::uint16_t port() const { return server_ ? server_->port() : 0; }

  // One request on a fresh connection.
  std::optional<HttpResponse> RoundTrip(std::string_view request, bool head = false) {
    Client client(port());
    if (!client.connected() || !client.Send(request)) return std::nullopt;
    return client.Read(head);
  }

  std::string Metrics() {
    auto res = RoundTrip(Get("/metrics"));
    return res ? res->body : std::string();
  }

  obs::Registry registry_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::future<void> run_returned_;
};

int ErrorCode(const HttpResponse& res) {
  return nlohmann::json::parse(res.body).at("code").get<int>();
}

TEST_F(HttpServerTest, AnswersRouteWith200) {
  Start();
  auto res = RoundTrip(Get("/hello"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello");
  EXPECT_EQ(res->header("content-type"), "text/plain");
  EXPECT_EQ(res->header("content-length"), "5");
  EXPECT_EQ(res->header("server"), "keel");
  EXPECT_FALSE(res->header("date").empty());
  EXPECT_EQ(res->header("connection"), "");
}

TEST_F(HttpServerTest, PassesPathParamsAndBodyToHandlers) {
  Start();
  auto user = RoundTrip(Get("/users/42"));
  ASSERT_TRUE(user);
  EXPECT_EQ(user->body, "42");
  auto echo = RoundTrip(Post("/echo", "ping"));
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->status, 200);
  EXPECT_EQ(echo->body, "ping");
}

TEST_F(HttpServerTest, HeadAnswersWithoutBody) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n" + Get("/hello")));
  auto head = client.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "5");
  EXPECT_EQ(head->body, "");
  // The next response starts right after the HEAD response's header.
  auto get = client.Read();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "hello");
}

TEST_F(HttpServerTest, UnknownPathGets404Json) {
  Start();
  auto res = RoundTrip(Get("/nope"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->header("content-type"), "application/json");
  EXPECT_EQ(ErrorCode(*res), 404);
}

TEST_F(HttpServerTest, WrongMethodGets405WithAllow) {
  Start();
  auto res = RoundTrip(Post("/hello", "x"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->header("allow"), "GET, HEAD");
  EXPECT_EQ(ErrorCode(*res), 405);
}

TEST_F(HttpServerTest, KeepsConnectionAliveBetweenRequests) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/hello")));
  auto first = client.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "hello");
  ASSERT_TRUE(client.Send(Post("/echo", "again")));
  auto second = client.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "again");
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/hello") + Post("/echo", "two") + Get("/users/3")));
  auto a = client.Read();
  auto b = client.Read();
  auto c = client.Read();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->body, "hello");
  EXPECT_EQ(b->body, "two");
  EXPECT_EQ(c->body, "3");
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveAsked) {
  Start();
  Client closing(port());
  ASSERT_TRUE(closing.Send("GET /hello HTTP/1.0\r\n\r\n"));
  auto res = closing.Read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->header("connection"), "close");
  EXPECT_TRUE(closing.ReadsEof());

  Client keeping(port());
  ASSERT_TRUE(keeping.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  res = keeping.Read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->header("connection"), "keep-alive");
  ASSERT_TRUE(keeping.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(keeping.Read());
}

TEST_F(HttpServerTest, SendsContinueBeforeReadingBody) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("data"));
  auto res = client.Read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "data");
}

TEST_F(HttpServerTest, RejectsBadInputAndCloses) {
  HttpServerOptions options = Options();
  options.limits.max_header_bytes = 1024;
  options.limits.max_body_bytes = 64;
  Start(options);
  const struct {
    std::string name;
    std::string request;
    int status;
  } cases[] = {
      {"HeaderTooLarge", Get("/hello", "X-Big: " + std::string(2000, 'a') + "\r\n"), 431},
      {"BodyTooLarge", Post("/echo", std::string(100, 'b')), 413},
      {"Garbage", "\x16\x03\x01 not http at all\r\n\r\n", 400},
      {"BadVersion", "GET /hello HTTP/2.0\r\n\r\n", 505},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Client client(port());
    ASSERT_TRUE(client.Send(c.request));
    auto res = client.Read();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status);
    EXPECT_EQ(ErrorCode(*res), c.status);
    EXPECT_EQ(res->header("connection"), "close");
    EXPECT_TRUE(client.ReadsEof());
  }
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("keel_http_header_too_large_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("keel_http_body_too_large_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("keel_http_bad_requests_total 2\n"), std::string::npos);
}

TEST_F(HttpServerTest, ThrowingHandlerGets500) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/boom")));
  auto res = client.Read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(ErrorCode(*res), 500);
  // The connection survives the exception.
  ASSERT_TRUE(client.Send(Get("/hello")));
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_NE(Metrics().find("keel_http_handler_exceptions_total 1\n"), std::string::npos);
}

TEST_F(HttpServerTest, ServesStandardRoutes) {
  Start();
  auto healthz = RoundTrip(Get("/healthz"));
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  EXPECT_EQ(nlohmann::json::parse(healthz->body).at("status"), "ok");
  auto readyz = RoundTrip(Get("/readyz"));
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
  EXPECT_EQ(nlohmann::json::parse(readyz->body).at("status"), "ready");
  auto metrics = RoundTrip(Get("/metrics"));
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("# TYPE keel_http_requests_total counter"), std::string::npos);
}

TEST_F(HttpServerTest, MetricsCountRequestsByRouteMethodAndCode) {
  Start();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(RoundTrip(Get("/hello")));
  ASSERT_TRUE(RoundTrip(Get("/users/1")));
  ASSERT_TRUE(RoundTrip(Get("/users/2")));
  ASSERT_TRUE(RoundTrip(Get("/missing")));
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("keel_http_requests_total{route=\"/hello\",method=\"GET\",code=\"200\"} 3\n"),
            std::string::npos)
      << metrics;
  // Route labels are patterns, never raw paths.
  EXPECT_NE(
      metrics.find("keel_http_requests_total{route=\"/users/{id}\",method=\"GET\",code=\"200\"} 2\n"),
      std::string::npos);
  EXPECT_NE(
      metrics.find("keel_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 1\n"),
      std::string::npos);
  EXPECT_EQ(metrics.find("/missing"), std::string::npos);
}

TEST_F(HttpServerTest, ContinuesCallerTrace) {
  Start();
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string parent = "00f067aa0ba902b7";
  auto res = RoundTrip(Get("/hello", "traceparent: 00-" + trace_id + "-" + parent + "-01\r\n"));
  ASSERT_TRUE(res);
  const std::string out = res->header("traceparent");
  ASSERT_EQ(out.size(), 55u) << out;
  EXPECT_EQ(out.substr(0, 3), "00-");
  EXPECT_EQ(out.substr(3, 32), trace_id);
  EXPECT_NE(out.substr(36, 16), parent);  // a new span of our own
  EXPECT_EQ(out.substr(53), "01");

  auto fresh = RoundTrip(Get("/hello"));
  ASSERT_TRUE(fresh);
  ASSERT_EQ(fresh->header("traceparent").size(), 55u);
  EXPECT_NE(fresh->header("traceparent").substr(3, 32), trace_id);
}

TEST_F(HttpServerTest, AnswersPartialHeaderWith408AfterHeaderTimeout) {
  HttpServerOptions options = Options();
  options.header_timeout = 300ms;
  Start(options);
  Client client(port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: te"));
  auto res = client.Read();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 408);
  EXPECT_EQ(ErrorCode(*res), 408);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_NE(Metrics().find("keel_http_header_timeouts_total 1\n"), std::string::npos);
}

TEST_F(HttpServerTest, ShutdownClosesIdleConnectionAndRunReturns) {
  Start();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/hello")));
  ASSERT_TRUE(client.Read());  // accepted, answered, now idle
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Stop(/*limit=*/900ms));  // well before shutdown_timeout (1 s)
  EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);
  EXPECT_TRUE(server_->draining());
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, CreateRejectsBadOptions) {
  HttpServerOptions no_threads = Options();
  no_threads.threads = 0;
  auto a = HttpServer::Create(no_threads, Router(), registry_);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);

  HttpServerOptions bad_host = Options();
  bad_host.host = "not an address";
  auto b = HttpServer::Create(bad_host, Router(), registry_);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace keel::net
