// Async handlers (Router::AddAsync) against the real server on port 0.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>

#include "blocking_client.h"
#include "keel/net/http_server.h"
#include "keel/net/worker_context.h"
#include "keel/obs/metrics.h"

namespace keel::net {
namespace {

using namespace std::chrono_literals;
using keel::net::testing::Client;
using keel::net::testing::Get;

// Answers `body` after `delay` through the worker's scheduler.
AsyncHandler Later(std::chrono::milliseconds delay, std::string body,
                   std::shared_ptr<std::promise<void>> started = nullptr) {
  return [delay, body, started](const Request& req, Response& res, Responder r) {
    if (started) started->set_value();
    auto responder = std::make_shared<Responder>(std::move(r));
    // The request views stay valid until Send(): echo the path from them.
    std::string path(req.path);
    CurrentScheduler().After(delay, [&res, responder, body, path, &req] {
      EXPECT_EQ(req.path, path);
      res.set_content_type("text/plain");
      res.body() = body;
      responder->Send();
    });
  };
}

class AsyncHandlerTest : public ::testing::Test {
 protected:
  void Start(Router router, std::chrono::milliseconds shutdown_timeout = 2000ms) {
    (void)router.Add(Method::kGet, "/hello", [](const Request&, Response& res) {
      res.body() = "hello";
    });
    HttpServerOptions options;
    options.threads = 1;
    options.shutdown_timeout = shutdown_timeout;
    options.header_timeout = 50ms;
    options.idle_timeout = 50ms;
    auto server = HttpServer::Create(options, std::move(router), registry_);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { server_->Run(false); });
  }
  void TearDown() override {
    if (!thread_.joinable()) return;
    server_->Shutdown();
    thread_.join();
  }
  std::uint64_t CounterValue(const std::string& name, std::vector<std::string_view> labels = {}) {
    return registry_.AddCounter(name, "", {}).Get(labels)->Value();
  }

  obs::Registry registry_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(AsyncHandlerTest, AnswersAfterTimerBeyondIdleAndHeaderTimeouts) {
  Router router;
  ASSERT_TRUE(router.AddAsync(Method::kGet, "/slow", Later(200ms, "late")).ok());
  Start(std::move(router));
  Client client(server_->port());
  ASSERT_TRUE(client.Send(Get("/slow")));
  auto res = client.Read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "late");
  // The connection is still usable afterwards.
  ASSERT_TRUE(client.Send(Get("/hello")));
  res = client.Read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->body, "hello");
}

TEST_F(AsyncHandlerTest, InlineSendAnswersLikeASyncHandler) {
  Router router;
  ASSERT_TRUE(router
                  .AddAsync(Method::kGet, "/now",
                            [](const Request&, Response& res, Responder r) {
                              res.body() = "now";
                              r.Send();
                              r.Send();  // second call does nothing
                            })
                  .ok());
  Start(std::move(router));
  Client client(server_->port());
  ASSERT_TRUE(client.Send(Get("/now") + Get("/now")));
  for (int i = 0; i < 2; ++i) {
    auto res = client.Read();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->body, "now");
  }
}

TEST_F(AsyncHandlerTest, PipelinedRequestsAnsweredInOrderWhenFirstIsSlow) {
  Router router;
  ASSERT_TRUE(router.AddAsync(Method::kGet, "/slow", Later(100ms, "first")).ok());
  ASSERT_TRUE(router.AddAsync(Method::kGet, "/fast", Later(1ms, "third")).ok());
  Start(std::move(router));
  Client client(server_->port());
  ASSERT_TRUE(client.Send(Get("/slow") + Get("/hello") + Get("/fast")));
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    auto res = client.Read();
    ASSERT_TRUE(res.has_value());
    bodies.push_back(res->body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"first", "hello", "third"}));
}

TEST_F(AsyncHandlerTest, DroppedResponderAnswers500AndCounts) {
  Router router;
  ASSERT_TRUE(
      router.AddAsync(Method::kGet, "/drop", [](const Request&, Response&, Responder) {}).ok());
  ASSERT_TRUE(router
                  .AddAsync(Method::kGet, "/drop-later",
                            [](const Request&, Response&, Responder r) {
                              auto held = std::make_shared<Responder>(std::move(r));
                              CurrentScheduler().After(10ms, [held]() mutable { held.reset(); });
                            })
                  .ok());
  Start(std::move(router));
  Client client(server_->port());
  ASSERT_TRUE(client.Send(Get("/drop")));
  auto res = client.Read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 500);
  ASSERT_TRUE(client.Send(Get("/drop-later")));
  res = client.Read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(CounterValue("keel_http_responders_dropped_total"), 2u);
}

TEST_F(AsyncHandlerTest, PeerClosesWhileResponsePendingThenSendIsHarmless) {
  auto sent = std::make_shared<std::promise<void>>();
  auto started = std::make_shared<std::promise<void>>();
  auto started_future = started->get_future();
  auto sent_future = sent->get_future();
  Router router;
  ASSERT_TRUE(router
                  .AddAsync(Method::kGet, "/slow",
                            [sent, started](const Request&, Response& res, Responder r) {
                              auto responder = std::make_shared<Responder>(std::move(r));
                              started->set_value();
                              CurrentScheduler().After(100ms, [&res, responder, sent] {
                                res.body() = "nobody listens";
                                responder->Send();
                                sent->set_value();
                              });
                            })
                  .ok());
  Start(std::move(router));
  {
    Client client(server_->port());
    ASSERT_TRUE(client.Send(Get("/slow")));
    ASSERT_EQ(started_future.wait_for(2s), std::future_status::ready);
  }  // closes the socket while the answer is pending
  ASSERT_EQ(sent_future.wait_for(2s), std::future_status::ready);
  Client again(server_->port());
  ASSERT_TRUE(again.Send(Get("/hello")));
  auto res = again.Read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->body, "hello");
}

TEST_F(AsyncHandlerTest, ShutdownWaitsForPendingAsyncResponse) {
  auto started = std::make_shared<std::promise<void>>();
  auto started_future = started->get_future();
  Router router;
  ASSERT_TRUE(router.AddAsync(Method::kGet, "/slow", Later(300ms, "drained", started)).ok());
  Start(std::move(router));
  Client client(server_->port());
  ASSERT_TRUE(client.Send(Get("/slow")));
  ASSERT_EQ(started_future.wait_for(2s), std::future_status::ready);
  server_->Shutdown();
  auto res = client.Read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->body, "drained");
  EXPECT_EQ(res->header("connection"), "close");
  thread_.join();
}

TEST_F(AsyncHandlerTest, ShutdownTimeoutEndsAResponseThatNeverComes) {
  auto started = std::make_shared<std::promise<void>>();
  auto started_future = started->get_future();
  Router router;
  ASSERT_TRUE(router.AddAsync(Method::kGet, "/never", Later(60s, "never", started)).ok());
  Start(std::move(router), /*shutdown_timeout=*/100ms);
  Client client(server_->port());
  ASSERT_TRUE(client.Send(Get("/never")));
  ASSERT_EQ(started_future.wait_for(2s), std::future_status::ready);
  auto t0 = std::chrono::steady_clock::now();
  server_->Shutdown();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  server_.reset();  // the pending Responder is dropped with the worker: no crash
}

TEST_F(AsyncHandlerTest, MetricsRecordTimeUntilSend) {
  Router router;
  ASSERT_TRUE(router.AddAsync(Method::kGet, "/slow", Later(60ms, "late")).ok());
  Start(std::move(router));
  Client client(server_->port());
  ASSERT_TRUE(client.Send(Get("/slow")));
  auto res = client.Read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(CounterValue("keel_http_requests_total", {"/slow", "GET", "200"}), 1u);
  auto snap = registry_.AddHistogram("keel_http_request_duration_seconds", "", {})
                  .Get({"/slow", "GET"})
                  ->Collect();
  EXPECT_EQ(snap.count, 1u);
  EXPECT_GE(snap.sum, 0.06);
}

}  // namespace
}  // namespace keel::net
