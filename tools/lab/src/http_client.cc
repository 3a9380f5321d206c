#include "keel/lab/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace keel::lab {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

class Socket {
 public:
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

  Status Connect(const std::string& host, const std::string& port, Clock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
      return Unavailable("cannot resolve '" + host + "'");
    }
    fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd_ < 0 ? -1 : ::connect(fd_, res->ai_addr, res->ai_addrlen);
    ::freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) return Unavailable(std::string("connect: ") + std::strerror(errno));
    if (rc != 0) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) != 1) return Unavailable("connect: timed out");
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return Unavailable(std::string("connect: ") + std::strerror(err));
    }
    return Status::Ok();
  }

  Status WriteAll(const std::string& data, Clock::time_point deadline) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) return Unavailable(std::string("write: ") + std::strerror(errno));
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) != 1) return Unavailable("write: timed out");
    }
    return Status::Ok();
  }

  // Reads until the peer closes.
  Status ReadAll(std::string* out, Clock::time_point deadline) {
    char buf[16384];
    while (true) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        out->append(buf, static_cast<std::size_t>(n));
        if (out->size() > (64u << 20)) return Unavailable("response larger than 64 MiB");
        continue;
      }
      if (n == 0) return Status::Ok();
      if (errno == ECONNRESET && !out->empty()) return Status::Ok();
      if (errno != EAGAIN && errno != EINTR) return Unavailable(std::string("read: ") + std::strerror(errno));
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) != 1) return Unavailable("read: timed out");
    }
  }

 private:
  int fd_ = -1;
};

struct Url {
  std::string host, port, target;
};

StatusOr<Url> ParseHttpUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return InvalidArgument("URL '" + url + "' must start with http://");
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::size_t colon;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return InvalidArgument("URL '" + url + "': unclosed '['");
    u.host = authority.substr(1, close - 1);
    colon = authority.find(':', close);
  } else {
    colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
  }
  u.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (u.host.empty() || u.port.empty()) return InvalidArgument("URL '" + url + "' has no host or port");
  return u;
}

}  // namespace

StatusOr<HttpReply> HttpCall(const std::string& method, const std::string& url,
                             const std::string& body, Duration timeout) {
  auto u = ParseHttpUrl(url);
  if (!u.ok()) return u.status();
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  Socket s;
  if (Status st = s.Connect(u->host, u->port, deadline); !st.ok()) return st;
  std::string request = method + " " + u->target + " HTTP/1.1\r\nHost: " + u->host + ":" + u->port +
                        "\r\nConnection: close\r\nUser-Agent: keel-lab\r\nAccept: */*\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  if (Status st = s.WriteAll(request, deadline); !st.ok()) return st;
  std::string raw;
  if (Status st = s.ReadAll(&raw, deadline); !st.ok()) return st;

  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(64u << 20);
  if (method == "HEAD") parser.skip(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec) return Unavailable("bad HTTP response from " + url + ": " + ec.message());
  HttpReply reply;
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = std::move(parser.get().body());
  return reply;
}

Status TcpProbe(const std::string& address, Duration timeout) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("address '" + address + "' must be HOST:PORT");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  Socket s;
  return s.Connect(host, address.substr(colon + 1), Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout));
}

}  // namespace keel::lab
