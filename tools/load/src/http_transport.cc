#include "http_transport.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <optional>

namespace keel::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::system::error_code;

// Reads one response; the body is skipped, only the status is kept.
class ResponseParser final : public http::basic_parser<false> {
 public:
  ResponseParser() {
    eager(true);
    body_limit(std::uint64_t{1} << 40);  // bodies are skipped, never stored
    header_limit(64 * 1024);
  }
  int status = 0;

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
    status = code;
  }
  void on_field_impl(http::field, beast::string_view, beast::string_view,
                     beast::error_code&) override {}
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code&) override {
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}
};

class HttpTransport final : public Transport {
 public:
  HttpTransport(asio::io_context& io, TransportEvents& events, const std::vector<RequestSpec>& requests,
                asio::ip::tcp::endpoint endpoint, std::string host_header, int connections,
                std::uint64_t seed)
      : events_(events), requests_(requests), endpoint_(endpoint),
        host_header_(std::move(host_header)), rng_(seed) {
    for (int i = 0; i < connections; ++i) conns_.push_back(std::make_unique<Conn>(io, i));
    // Requests without placeholders are rendered once.
    for (std::size_t i = 0; i < requests_.size(); ++i) {
      const RequestSpec& spec = requests_[i];
      bool is_static = spec.target.is_static() && spec.body.is_static();
      for (const auto& h : spec.headers) is_static &= h.second.is_static();
      prerendered_.emplace_back();
      if (is_static) RenderRequest(i, 0, &prerendered_.back());
    }
  }

  int slots() const override { return static_cast<int>(conns_.size()); }

  void Start() override {
    for (auto& c : conns_) Connect(*c);
  }

  void Send(int slot, std::uint64_t seq) override {
    Conn& c = *conns_[static_cast<std::size_t>(slot)];
    std::size_t spec = static_cast<std::size_t>(seq % requests_.size());
    if (!prerendered_[spec].empty()) c.out = prerendered_[spec];
    else RenderRequest(spec, seq, &c.out);
    c.busy = true;
    c.parser.emplace();
    if (requests_[spec].method == "HEAD") c.parser->skip(true);
    error_code ec;
    std::size_t n = 0;
    while (n < c.out.size()) {
      std::size_t w = c.socket.write_some(asio::buffer(c.out.data() + n, c.out.size() - n), ec);
      n += w;
      if (ec) break;
    }
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      // The rest goes out in the background; the slot is not handed out
      // again (its `out` reused) before this write has finished.
      const std::uint64_t gen = c.gen;
      c.writing = true;
      asio::async_write(c.socket, asio::buffer(c.out.data() + n, c.out.size() - n),
                        [this, &c, gen](const error_code& wec, std::size_t) {
                          if (gen != c.gen) return;
                          c.writing = false;
                          if (wec) {
                            Fail(c, ErrorKind::kRead);
                          } else if (c.answered) {
                            c.answered = false;
                            events_.OnReady(c.index);
                          }
                        });
    } else if (ec) {
      Fail(c, ErrorKind::kRead);
    }
  }

  void Cancel(int slot) override {
    Conn& c = *conns_[static_cast<std::size_t>(slot)];
    c.parser.reset();
    c.busy = false;
    if (stopped_) return;
    Connect(c);
  }

  void Stop() override {
    stopped_ = true;
    for (auto& c : conns_) {
      error_code ec;
      c->socket.close(ec);
      c->retry.cancel();
      ++c->gen;
    }
  }

 private:
  struct Conn {
    Conn(asio::io_context& io, int i) : socket(io), retry(io), index(i) {}
    asio::ip::tcp::socket socket;
    asio::steady_timer retry;
    const int index;
    std::uint64_t gen = 0;
    std::string out;
    char in[16384];
    std::size_t in_len = 0;
    std::optional<ResponseParser> parser;
    bool busy = false;      // a request is in flight
    bool writing = false;   // an async_write of `out` is in progress
    bool answered = false;  // the answer came before that write finished
    bool connect_failed = false;  // in an outage: count it once
  };

  void RenderRequest(std::size_t spec_index, std::uint64_t seq, std::string* out) {
    const RequestSpec& spec = requests_[spec_index];
    out->clear();
    out->append(spec.method).push_back(' ');
    TemplateContext ctx{seq, &rng_};
    spec.target.Render(ctx, out);
    out->append(" HTTP/1.1\r\nHost: ").append(host_header_).append("\r\n");
    for (const auto& [name, value] : spec.headers) {
      out->append(name).append(": ");
      value.Render(ctx, out);
      out->append("\r\n");
    }
    body_.clear();
    spec.body.Render(ctx, &body_);
    if (!body_.empty() || spec.method == "POST" || spec.method == "PUT" || spec.method == "PATCH") {
      out->append("Content-Length: ").append(std::to_string(body_.size())).append("\r\n");
    }
    out->append("\r\n").append(body_);
  }

  void Connect(Conn& c) {
    error_code ec;
    c.socket.close(ec);
    ++c.gen;
    c.in_len = 0;
    c.busy = c.writing = c.answered = false;
    const std::uint64_t gen = c.gen;
    c.socket.async_connect(endpoint_, [this, &c, gen](const error_code& cec) {
      if (gen != c.gen) return;
      if (cec) {
        if (!c.connect_failed && !stopped_) c.connect_failed = events_.OnConnectFailed();
        c.retry.expires_after(std::chrono::milliseconds(10));
        c.retry.async_wait([this, &c, gen](const error_code& tec) {
          if (!tec && gen == c.gen && !stopped_) Connect(c);
        });
        return;
      }
      c.connect_failed = false;
      error_code ignored;
      c.socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      c.socket.non_blocking(true, ignored);
      Read(c);
      events_.OnReady(c.index);
    });
  }

  void Read(Conn& c) {
    const std::uint64_t gen = c.gen;
    c.socket.async_read_some(asio::buffer(c.in + c.in_len, sizeof(c.in) - c.in_len),
                             [this, &c, gen](const error_code& ec, std::size_t n) {
                               if (gen != c.gen) return;
                               OnRead(c, ec, n);
                             });
  }

  void OnRead(Conn& c, const error_code& ec, std::size_t n) {
    if (ec) {
      if (c.busy) {
        if (ec == asio::error::eof && c.parser && c.parser->is_header_done() &&
            c.parser->need_eof()) {
          beast::error_code pec;
          c.parser->put_eof(pec);
          if (!pec) {
            Complete(c, /*reconnect=*/true);
            return;
          }
        }
        Fail(c, ErrorKind::kRead);
      } else if (!stopped_) {
        events_.OnLost(c.index);
        Connect(c);  // the server closed an idle keep-alive connection
      }
      return;
    }
    c.in_len += n;
    if (!c.busy || !c.parser) {
      c.in_len = 0;  // unsolicited bytes: ignore
      Read(c);
      return;
    }
    beast::error_code pec;
    std::size_t used = c.parser->put(asio::buffer(c.in, c.in_len), pec);
    if (pec == http::error::need_more) pec = {};
    if (pec) {
      Fail(c, ErrorKind::kRead);
      return;
    }
    std::memmove(c.in, c.in + used, c.in_len - used);
    c.in_len -= used;
    if (c.in_len == sizeof(c.in)) {  // a header larger than the buffer
      Fail(c, ErrorKind::kRead);
      return;
    }
    if (c.parser->is_done()) {
      c.in_len = 0;
      Read(c);
      Complete(c, !c.parser->keep_alive());
      return;
    }
    Read(c);
  }

  void Complete(Conn& c, bool reconnect) {
    Outcome o;
    o.at = Clock::now();
    const int status = c.parser->status;
    o.status = status;
    if (status >= 400) {
      o.kind = Outcome::Kind::kError;
      o.error = status >= 500 ? ErrorKind::kStatus5xx : ErrorKind::kStatus4xx;
      o.answered = true;
    }
    c.parser.reset();
    c.busy = false;
    if (reconnect) {
      events_.OnDone(c.index, o, Next::kNotReady);
      if (!stopped_) Connect(c);
      return;
    }
    if (c.writing) {
      // Answered before the request was fully written: the write handler
      // hands the slot out; until then it stays busy for the worker, so a
      // stuck write still times out.
      c.answered = true;
      events_.OnDone(c.index, o, Next::kWriting);
      return;
    }
    events_.OnDone(c.index, o, Next::kReady);
  }

  void Fail(Conn& c, ErrorKind kind) {
    Outcome o;
    o.kind = Outcome::Kind::kError;
    o.error = kind;
    o.at = Clock::now();
    c.parser.reset();
    c.busy = false;
    events_.OnDone(c.index, o, Next::kNotReady);
    if (stopped_) {
      error_code ec;
      c.socket.close(ec);
      ++c.gen;
      return;
    }
    Connect(c);
  }

  TransportEvents& events_;
  const std::vector<RequestSpec>& requests_;
  asio::ip::tcp::endpoint endpoint_;
  std::string host_header_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<std::string> prerendered_;
  std::string body_;
  Rng rng_;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Transport> MakeHttpTransport(asio::io_context& io, TransportEvents& events,
                                             const std::vector<RequestSpec>& requests,
                                             asio::ip::tcp::endpoint endpoint,
                                             std::string host_header, int connections,
                                             std::uint64_t seed) {
  return std::make_unique<HttpTransport>(io, events, requests, endpoint, std::move(host_header),
                                         connections, seed);
}

}  // namespace keel::load
