// HttpClient against keel's own HttpServer on port 0 and against a scripted
// raw Asio server for the edge cases. The client's io_context runs in the
// test thread with bounded run_for() loops.
#include "keel/net/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "keel/net/http_server.h"
#include "keel/net/worker_context.h"
#include "keel/obs/metrics.h"

namespace keel::net {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

template <typename Pred>
bool RunUntil(asio::io_context& io, Pred done, std::chrono::milliseconds bound = 3000ms) {
  auto end = std::chrono::steady_clock::now() + bound;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(2ms);
  }
  return done();
}

// A scripted server on the test's io_context: for each request header it
// reads, it writes reply(request); an empty reply means "answer nothing".
class RawServer {
 public:
  RawServer(asio::io_context& io, std::function<std::string(const std::string&)> reply,
            bool close_after_reply = false)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        reply_(std::move(reply)), close_after_reply_(close_after_reply) {
    Accept();
  }
  std::string upstream() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int accepts = 0;
  int peer_closed = 0;  // connections the client closed
  std::vector<std::string> requests;

 private:
  struct Session {
    explicit Session(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::string buf;
    std::string out;
  };
  void Accept() {
    acceptor_.async_accept([this](const error_code& ec, tcp::socket s) {
      if (ec) return;
      ++accepts;
      auto session = std::make_shared<Session>(std::move(s));
      sessions_.push_back(session);
      Read(session);
      Accept();
    });
  }
  void Read(std::shared_ptr<Session> s) {
    asio::async_read_until(s->socket, asio::dynamic_buffer(s->buf), "\r\n\r\n",
                           [this, s](const error_code& ec, std::size_t n) {
                             if (ec) {
                               ++peer_closed;
                               return;
                             }
                             std::string request = s->buf.substr(0, n);
                             s->buf.erase(0, n);
                             requests.push_back(request);
                             s->out = reply_(request);
                             if (s->out.empty()) {
                               Read(s);
                               return;
                             }
                             asio::async_write(s->socket, asio::buffer(s->out),
                                               [this, s](const error_code& wec, std::size_t) {
                                                 if (wec) return;
                                                 if (close_after_reply_) {
                                                   error_code ignored;
                                                   s->socket.close(ignored);
                                                   return;
                                                 }
                                                 Read(s);
                                               });
                           });
  }
  tcp::acceptor acceptor_;
  std::function<std::string(const std::string&)> reply_;
  bool close_after_reply_;
  std::vector<std::shared_ptr<Session>> sessions_;
};

std::string Ok(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

class HttpClientTest : public ::testing::Test {
 protected:
  void TearDown() override {
    client_.reset();
    if (server_thread_.joinable()) {
      server_->Shutdown();
      server_thread_.join();
    }
  }

  void MakeClient(HttpClientOptions options = {}) {
    auto client = HttpClient::Create(io_, std::move(options), client_registry_);
    ASSERT_TRUE(client.ok()) << client.status().message();
    client_ = std::move(client).value();
  }

  // keel's server: /hello, /headers (echoes traceparent and the timeout
  // header), /slow (async, answers after 100 ms).
  void StartServer() {
    Router router;
    (void)router.Add(Method::kGet, "/hello", [](const Request&, Response& res) {
      res.body() = "hello";
    });
    (void)router.Add(Method::kGet, "/headers", [](const Request& req, Response& res) {
      res.body() = std::string(req.header("traceparent")) + "|" +
                   std::string(req.header("x-envoy-expected-rq-timeout-ms"));
    });
    (void)router.AddAsync(Method::kGet, "/slow", [](const Request&, Response& res, Responder r) {
      auto responder = std::make_shared<Responder>(std::move(r));
      CurrentScheduler().After(100ms, [&res, responder] {
        res.body() = "slow";
        responder->Send();
      });
    });
    HttpServerOptions options;
    options.threads = 1;
    auto server = HttpServer::Create(options, std::move(router), server_registry_);
    ASSERT_TRUE(server.ok());
    server_ = std::move(server).value();
    server_thread_ = std::thread([this] { server_->Run(false); });
  }
  std::string ServerUpstream() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::uint64_t ServerAccepts() {
    return server_registry_.AddCounter("keel_http_connections_accepted_total", "", {}).Get({})->Value();
  }
  std::uint64_t ClientCount(const std::string& name, std::vector<std::string_view> labels) {
    return client_registry_.AddCounter(name, "", {}).Get(labels)->Value();
  }
  double ClientGauge(std::vector<std::string_view> labels) {
    return client_registry_.AddGauge("keel_http_client_connections", "", {}).Get(labels)->Value();
  }

  // Sends and runs the loop until the callback ran.
  std::optional<ClientResponse> Fetch(ClientRequest req) {
    std::optional<ClientResponse> out;
    client_->Send(std::move(req), [&](ClientResponse res) { out = std::move(res); });
    RunUntil(io_, [&] { return out.has_value(); });
    return out;
  }

  asio::io_context io_;
  obs::Registry client_registry_;
  obs::Registry server_registry_;
  std::unique_ptr<HttpServer> server_;
  std::thread server_thread_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(HttpClientTest, SequentialRequestsReuseOneConnection) {
  StartServer();
  MakeClient();
  for (int i = 0; i < 5; ++i) {
    auto res = Fetch({.upstream = ServerUpstream(), .target = "/hello"});
    ASSERT_TRUE(res.has_value());
    ASSERT_TRUE(res->status.ok()) << res->status.message();
    EXPECT_EQ(res->http_status, 200);
    EXPECT_EQ(res->body, "hello");
  }
  EXPECT_EQ(ServerAccepts(), 1u);
  EXPECT_EQ(ClientCount("keel_http_client_connects_total", {ServerUpstream(), "ok"}), 1u);
  EXPECT_EQ(ClientCount("keel_http_client_requests_total", {ServerUpstream(), "200"}), 5u);
  EXPECT_EQ(ClientGauge({ServerUpstream(), "idle"}), 1.0);
  EXPECT_EQ(ClientGauge({ServerUpstream(), "active"}), 0.0);
}

TEST_F(HttpClientTest, HeadResponseHasNoBodyAndKeepsConnection) {
  StartServer();
  MakeClient();
  auto res = Fetch({.upstream = ServerUpstream(), .method = Method::kHead, .target = "/hello"});
  ASSERT_TRUE(res.has_value() && res->status.ok());
  EXPECT_EQ(res->http_status, 200);
  EXPECT_EQ(res->body, "");
  res = Fetch({.upstream = ServerUpstream(), .target = "/hello"});
  ASSERT_TRUE(res.has_value() && res->status.ok());
  EXPECT_EQ(res->body, "hello");
  EXPECT_EQ(ServerAccepts(), 1u);
}

TEST_F(HttpClientTest, ParallelRequestsOpenUpToMaxAndQueueTheRest) {
  StartServer();
  MakeClient({.max_connections_per_upstream = 2});
  int ok = 0;
  for (int i = 0; i < 5; ++i) {
    client_->Send({.upstream = ServerUpstream(), .target = "/slow"}, [&](ClientResponse res) {
      if (res.status.ok() && res.body == "slow") ++ok;
    });
  }
  EXPECT_TRUE(RunUntil(io_, [&] { return ok == 5; }));
  EXPECT_EQ(ServerAccepts(), 2u);
  EXPECT_EQ(ClientCount("keel_http_client_connects_total", {ServerUpstream(), "ok"}), 2u);
}

TEST_F(HttpClientTest, RejectsPastTheQueueLimit) {
  StartServer();
  MakeClient({.max_connections_per_upstream = 1, .max_queued_per_upstream = 1});
  std::vector<ClientResponse> done;
  for (int i = 0; i < 3; ++i) {
    client_->Send({.upstream = ServerUpstream(), .target = "/slow"},
                  [&](ClientResponse res) { done.push_back(std::move(res)); });
  }
  EXPECT_TRUE(done.empty());  // never inside Send()
  ASSERT_TRUE(RunUntil(io_, [&] { return done.size() == 3; }));
  EXPECT_FALSE(done[0].status.ok());
  EXPECT_NE(done[0].status.message().find("pool exhausted"), std::string::npos);
  EXPECT_TRUE(done[0].retryable);
  EXPECT_TRUE(done[1].status.ok());
  EXPECT_TRUE(done[2].status.ok());
  EXPECT_EQ(ClientCount("keel_http_client_requests_total", {ServerUpstream(), "pool_exhausted"}), 1u);
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailableAndRetryable) {
  std::uint16_t port;
  {
    tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  MakeClient();
  std::string upstream = "127.0.0.1:" + std::to_string(port);
  auto res = Fetch({.upstream = upstream});
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(res->retryable);
  EXPECT_FALSE(res->timed_out);
  EXPECT_EQ(ClientCount("keel_http_client_requests_total", {upstream, "connect_error"}), 1u);
  EXPECT_EQ(ClientCount("keel_http_client_connects_total", {upstream, "error"}), 1u);
}

TEST_F(HttpClientTest, RejectsBadUpstreamsWithoutCallingBackInline) {
  MakeClient();
  for (std::string bad : {"https://127.0.0.1:1", "127.0.0.1", "example.com:80", "127.0.0.1:99999"}) {
    bool inline_call = true;
    std::optional<ClientResponse> out;
    client_->Send({.upstream = bad}, [&](ClientResponse res) { out = std::move(res); });
    inline_call = out.has_value();
    EXPECT_FALSE(inline_call);
    ASSERT_TRUE(RunUntil(io_, [&] { return out.has_value(); })) << bad;
    EXPECT_EQ(out->status.code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(HttpClientTest, StaleKeepAliveConnectionIsRetriedOnAFreshOne) {
  // The server closes every connection after its response without saying
  // so: the second request meets a connection the peer already closed.
  RawServer raw(io_, [](const std::string&) { return Ok("x"); }, /*close_after_reply=*/true);
  MakeClient();
  std::optional<ClientResponse> second;
  client_->Send({.upstream = raw.upstream()}, [&](ClientResponse first) {
    EXPECT_TRUE(first.status.ok());
    // Sent from the callback: the pool has not noticed the close yet.
    client_->Send({.upstream = raw.upstream()},
                  [&](ClientResponse res) { second = std::move(res); });
  });
  ASSERT_TRUE(RunUntil(io_, [&] { return second.has_value(); }));
  EXPECT_TRUE(second->status.ok()) << second->status.message();
  EXPECT_EQ(second->body, "x");
  EXPECT_EQ(raw.accepts, 2);
}

TEST_F(HttpClientTest, IdleConnectionClosedByPeerIsDropped) {
  RawServer raw(io_, [](const std::string&) { return Ok("x"); }, /*close_after_reply=*/true);
  MakeClient();
  auto res = Fetch({.upstream = raw.upstream()});
  ASSERT_TRUE(res.has_value() && res->status.ok());
  EXPECT_TRUE(RunUntil(io_, [&] { return ClientGauge({raw.upstream(), "idle"}) == 0.0; }));
  res = Fetch({.upstream = raw.upstream()});
  ASSERT_TRUE(res.has_value() && res->status.ok());
  EXPECT_EQ(raw.accepts, 2);
}

TEST_F(HttpClientTest, ResponseTimeoutMarksTimedOutAndDiscardsConnection) {
  RawServer raw(io_, [](const std::string&) { return std::string(); });  // never answers
  MakeClient();
  auto res = Fetch({.upstream = raw.upstream(),
                    .deadline = SystemClock::Default().Now() + 100ms});
  ASSERT_TRUE(res.has_value());
  EXPECT_FALSE(res->status.ok());
  EXPECT_TRUE(res->timed_out);
  EXPECT_TRUE(res->retryable);
  EXPECT_TRUE(RunUntil(io_, [&] { return raw.peer_closed == 1; }));
  EXPECT_EQ(ClientGauge({raw.upstream(), "active"}), 0.0);
  EXPECT_EQ(ClientGauge({raw.upstream(), "idle"}), 0.0);
  EXPECT_EQ(ClientCount("keel_http_client_requests_total", {raw.upstream(), "timeout"}), 1u);
}

TEST_F(HttpClientTest, CancelSkipsTheCallbackAndClosesTheConnection) {
  RawServer raw(io_, [](const std::string&) { return std::string(); });
  MakeClient();
  bool called = false;
  RequestId id = client_->Send({.upstream = raw.upstream()}, [&](ClientResponse) { called = true; });
  ASSERT_TRUE(RunUntil(io_, [&] { return raw.requests.size() == 1; }));
  EXPECT_TRUE(client_->Cancel(id));
  EXPECT_FALSE(client_->Cancel(id));
  EXPECT_TRUE(RunUntil(io_, [&] { return raw.peer_closed == 1; }));
  io_.restart();
  io_.run_for(20ms);
  EXPECT_FALSE(called);
  EXPECT_EQ(ClientCount("keel_http_client_requests_total", {raw.upstream(), "cancelled"}), 1u);
}

TEST_F(HttpClientTest, GarbageResponseIsAnErrorNotACrash) {
  RawServer raw(io_, [](const std::string&) { return std::string("garbage\r\n\r\n"); });
  MakeClient();
  auto res = Fetch({.upstream = raw.upstream()});
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(res->retryable);
  EXPECT_NE(res->status.message().find("parse_error"), std::string::npos) << res->status.message();
}

TEST_F(HttpClientTest, ReadsChunkedBodies) {
  RawServer raw(io_, [](const std::string&) {
    return std::string(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  });
  MakeClient();
  auto res = Fetch({.upstream = raw.upstream()});
  ASSERT_TRUE(res.has_value() && res->status.ok()) << res->status.message();
  EXPECT_EQ(res->body, "hello world");
  res = Fetch({.upstream = raw.upstream()});  // still keep-alive
  ASSERT_TRUE(res.has_value() && res->status.ok());
  EXPECT_EQ(raw.accepts, 1);
}

TEST_F(HttpClientTest, SkipsInterimResponsesAndReadsCloseDelimitedBodies) {
  RawServer raw(
      io_,
      [](const std::string&) {
        return std::string("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX-A: b\r\n\r\nuntil eof");
      },
      /*close_after_reply=*/true);
  MakeClient();
  auto res = Fetch({.upstream = raw.upstream()});
  ASSERT_TRUE(res.has_value() && res->status.ok()) << res->status.message();
  EXPECT_EQ(res->http_status, 201);
  EXPECT_EQ(res->header("x-a"), "b");
  EXPECT_EQ(res->body, "until eof");
  EXPECT_EQ(ClientGauge({raw.upstream(), "idle"}), 0.0);  // close-delimited: not reused
}

TEST_F(HttpClientTest, BodyOverLimitIsAnError) {
  RawServer raw(io_, [](const std::string&) { return Ok(std::string(100, 'x')); });
  HttpClientOptions small;
  small.max_response_bytes = 10;
  MakeClient(small);
  auto res = Fetch({.upstream = raw.upstream()});
  ASSERT_TRUE(res.has_value());
  EXPECT_FALSE(res->status.ok());
  EXPECT_NE(res->status.message().find("too_large"), std::string::npos)
      << res->status.message() << " body " << res->body.size();
}

TEST_F(HttpClientTest, Classifies503AsRetryable) {
  RawServer raw(io_, [](const std::string&) {
    return std::string("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  });
  MakeClient();
  auto res = Fetch({.upstream = raw.upstream()});
  ASSERT_TRUE(res.has_value() && res->status.ok());
  EXPECT_EQ(res->http_status, 503);
  EXPECT_TRUE(res->retryable);
}

TEST_F(HttpClientTest, SendsTraceparentTimeoutHeaderAndBody) {
  StartServer();
  MakeClient();
  auto trace = obs::TraceContext::ContinueOrStart("");
  auto tp = trace.ToHeader();
  auto res = Fetch({.upstream = ServerUpstream(),
                    .target = "/headers",
                    .deadline = SystemClock::Default().Now() + 2s,
                    .trace = trace,
                    .send_timeout_header = true});
  ASSERT_TRUE(res.has_value() && res->status.ok()) << res->status.message();
  auto bar = res->body.find('|');
  ASSERT_NE(bar, std::string::npos);
  EXPECT_EQ(res->body.substr(0, bar), std::string(tp.data(), tp.size()));
  int ms = std::stoi(res->body.substr(bar + 1));
  EXPECT_GT(ms, 1000);
  EXPECT_LE(ms, 2000);

  RawServer raw(io_, [](const std::string&) { return Ok("ok"); });
  res = Fetch({.upstream = raw.upstream(),
               .method = Method::kPost,
               .target = "/p",
               .headers = {{"X-Test", "1"}},
               .body = "abc"});
  ASSERT_TRUE(res.has_value() && res->status.ok());
  ASSERT_EQ(raw.requests.size(), 1u);
  EXPECT_NE(raw.requests[0].find("POST /p HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(raw.requests[0].find("X-Test: 1\r\n"), std::string::npos);
  EXPECT_NE(raw.requests[0].find("Content-Length: 3\r\n"), std::string::npos);
}

TEST_F(HttpClientTest, AsyncHandlerCallsAnUpstreamThroughItsWorkersClient) {
  StartServer();  // the upstream
  const std::string upstream = ServerUpstream();
  obs::Registry proxy_registry;
  Router router;
  ASSERT_TRUE(router
                  .AddAsync(Method::kGet, "/proxy",
                            [upstream, &proxy_registry](const Request&, Response& res, Responder r) {
                              // One client per worker thread, over its loop.
                              thread_local std::unique_ptr<HttpClient> client;
                              if (!client) {
                                client = HttpClient::Create(CurrentIoContext(), {}, proxy_registry)
                                             .value();
                              }
                              auto responder = std::make_shared<Responder>(std::move(r));
                              client->Send({.upstream = upstream, .target = "/slow"},
                                           [&res, responder](ClientResponse up) {
                                             res.set_status(up.status.ok() ? 200 : 502);
                                             res.body() = "proxied:" + up.body;
                                             responder->Send();
                                           });
                            })
                  .ok());
  HttpServerOptions options;
  options.threads = 1;
  auto proxy = HttpServer::Create(options, std::move(router), proxy_registry);
  ASSERT_TRUE(proxy.ok());
  std::thread proxy_thread([&] { (*proxy)->Run(false); });
  MakeClient();
  auto res = Fetch({.upstream = "127.0.0.1:" + std::to_string((*proxy)->port()), .target = "/proxy"});
  (*proxy)->Shutdown();
  proxy_thread.join();
  ASSERT_TRUE(res.has_value() && res->status.ok()) << (res ? res->status.message() : "none");
  EXPECT_EQ(res->http_status, 200);
  EXPECT_EQ(res->body, "proxied:slow");
}

}  // namespace
}  // namespace keel::net
