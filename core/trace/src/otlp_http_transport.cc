#include "keel/trace/otlp_http_transport.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>

namespace keel::trace {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

StatusOr<OtlpEndpoint> ParseOtlpEndpoint(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("tracing.otlp_endpoint '" + std::string(url) + "': " + std::string(why));
  };
  if (url.starts_with("https://")) return bad("https is not supported; point at a local collector over http");
  if (!url.starts_with("http://")) return bad("must start with http://");
  std::string_view rest = url.substr(7);
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view base = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (base.find_first_of("?#") != std::string_view::npos) return bad("no query or fragment allowed");
  if (authority.find('@') != std::string_view::npos) return bad("no user info allowed");
  OtlpEndpoint ep;
  auto colon = authority.rfind(':');
  std::string_view host = authority.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return bad("invalid port");
    }
    ep.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) return bad("missing host");
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-';
    if (!ok) return bad("invalid host");
  }
  ep.host = std::string(host);
  while (base.ends_with('/')) base.remove_suffix(1);
  ep.path = std::string(base) + "/v1/traces";
  return ep;
}

OtlpResult OtlpHttpTransport::Post(const std::string& json_body, Clock::duration timeout) {
  // Async operations on a private io_context run for at most `timeout`: the
  // simplest way to put one deadline over resolve, connect, write and read.
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  tcp::socket socket(ioc);
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> req{http::verb::post, endpoint_.path, 11};
  req.set(http::field::host, endpoint_.host + ":" + std::to_string(endpoint_.port));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "keel-trace");
  req.body() = json_body;
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  boost::system::error_code failure;
  bool done = false;

  resolver.async_resolve(
      endpoint_.host, std::to_string(endpoint_.port),
      [&](boost::system::error_code ec, tcp::resolver::results_type results) {
        if (ec) {
          failure = ec;
          return;
        }
        asio::async_connect(socket, results, [&](boost::system::error_code cec, const tcp::endpoint&) {
          if (cec) {
            failure = cec;
            return;
          }
          http::async_write(socket, req, [&](boost::system::error_code wec, std::size_t) {
            if (wec) {
              failure = wec;
              return;
            }
            http::async_read(socket, buffer, parser, [&](boost::system::error_code rec, std::size_t) {
              if (rec) failure = rec;
              done = !rec;
            });
          });
        });
      });
  ioc.run_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  OtlpResult result;
  if (!done) {
    result.status = Unavailable(failure ? "otlp: " + failure.message() : "otlp: timed out");
    return result;
  }
  const auto& res = parser.get();
  result.http_status = static_cast<int>(res.result_int());
  auto ra = res.find(http::field::retry_after);
  if (ra != res.end()) {
    std::string_view v(ra->value().data(), ra->value().size());
    unsigned secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec == std::errc() && p == v.data() + v.size()) result.retry_after = std::chrono::seconds(secs);
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  return result;
}

}  // namespace keel::trace
