#include "keel/trace/otlp_http_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace keel::trace {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

TEST(ParseOtlpEndpointTest, Table) {
  struct Case {
    std::string_view url;
    bool ok;
    std::string_view host;
    int port;
    std::string_view path;
  } cases[] = {
      {"http://127.0.0.1:4318", true, "127.0.0.1", 4318, "/v1/traces"},
      {"http://collector:4318/", true, "collector", 4318, "/v1/traces"},
      {"http://collector/otlp", true, "collector", 80, "/otlp/v1/traces"},
      {"https://collector:4318", false, "", 0, ""},
      {"collector:4318", false, "", 0, ""},
      {"http://:4318", false, "", 0, ""},
      {"http://host:0", false, "", 0, ""},
      {"http://host:99999", false, "", 0, ""},
      {"http://host:12ab", false, "", 0, ""},
      {"http://ho st:1", false, "", 0, ""},
      {"http://host:1/x?y=1", false, "", 0, ""},
      {"", false, "", 0, ""},
  };
  for (const auto& c : cases) {
    auto ep = ParseOtlpEndpoint(c.url);
    ASSERT_EQ(ep.ok(), c.ok) << c.url;
    if (!c.ok) {
      EXPECT_NE(ep.status().message().find("tracing.otlp_endpoint"), std::string::npos);
      continue;
    }
    EXPECT_EQ(ep->host, c.host);
    EXPECT_EQ(ep->port, c.port);
    EXPECT_EQ(ep->path, c.path);
  }
}

// A one-connection-per-request collector on 127.0.0.1:0 answering `statuses` in turn.
class TinyCollector {
 public:
  explicit TinyCollector(std::vector<int> statuses)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        thread_([this, statuses] {
          for (int status : statuses) {
            tcp::socket sock(ioc_);
            acceptor_.accept(sock);
            boost::beast::flat_buffer buf;
            http::request<http::string_body> req;
            http::read(sock, buf, req);
            targets.push_back(std::string(req.target()));
            methods.push_back(std::string(req.method_string()));
            content_types.push_back(std::string(req[http::field::content_type]));
            bodies.push_back(req.body());
            http::response<http::string_body> res{static_cast<http::status>(status), 11};
            if (status == 503) res.set(http::field::retry_after, "7");
            res.body() = "{}";
            res.prepare_payload();
            http::write(sock, res);
          }
        }) {}
  ~TinyCollector() { thread_.join(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::vector<std::string> targets, methods, content_types, bodies;

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST(OtlpHttpTransportTest, PostsJsonAndReadsStatus) {
  OtlpResult first, second;
  std::unique_ptr<TinyCollector> server;
  {
    server = std::make_unique<TinyCollector>(std::vector<int>{200, 503});
    OtlpHttpTransport t({"127.0.0.1", server->port(), "/v1/traces"});
    first = t.Post(R"({"resourceSpans":[]})", std::chrono::seconds(5));
    second = t.Post("{}", std::chrono::seconds(5));
    server.reset();  // joins: the vectors below are complete
  }
  ASSERT_TRUE(first.status.ok()) << first.status.message();
  EXPECT_EQ(first.http_status, 200);
  EXPECT_FALSE(first.retry_after);
  ASSERT_TRUE(second.status.ok());
  EXPECT_EQ(second.http_status, 503);
  EXPECT_EQ(second.retry_after, std::chrono::seconds(7));
}

TEST(OtlpHttpTransportTest, RequestShape) {
  TinyCollector server({200});
  OtlpHttpTransport t({"127.0.0.1", server.port(), "/v1/traces"});
  OtlpResult r = t.Post(R"({"resourceSpans":[]})", std::chrono::seconds(5));
  ASSERT_TRUE(r.status.ok());
  // The server thread wrote these before answering, so they are visible now.
  ASSERT_EQ(server.targets.size(), 1u);
  EXPECT_EQ(server.targets[0], "/v1/traces");
  EXPECT_EQ(server.methods[0], "POST");
  EXPECT_EQ(server.content_types[0], "application/json");
  EXPECT_EQ(server.bodies[0], R"({"resourceSpans":[]})");
}

TEST(OtlpHttpTransportTest, ConnectionRefusedIsNetworkError) {
  std::uint16_t port;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  OtlpHttpTransport t({"127.0.0.1", port, "/v1/traces"});
  OtlpResult r = t.Post("{}", std::chrono::seconds(5));
  EXPECT_FALSE(r.status.ok());
}

}  // namespace
}  // namespace keel::trace
