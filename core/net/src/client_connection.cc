#include "client_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

namespace keel::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;

ClientConnection::ClientConnection(asio::io_context& io) : socket_(io), timer_(io) {}

void ClientConnection::Connect(const asio::ip::tcp::endpoint& endpoint, Duration timeout,
                               std::function<void(error_code)> done) {
  on_connect_ = std::move(done);
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->closed_) return;
    self->connect_timed_out_ = true;
    error_code ignored;
    self->socket_.close(ignored);
  });
  socket_.async_connect(endpoint, [self = shared_from_this()](error_code ec) {
    self->timer_.cancel();
    if (self->closed_) return;
    if (self->connect_timed_out_) ec = asio::error::timed_out;
    if (!ec) {
      error_code ignored;
      self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    auto cb = std::move(self->on_connect_);
    cb(ec);
  });
}

void ClientConnection::Execute(std::string wire, bool head, std::uint64_t max_body,
                               std::function<void(Result)> done) {
  ++exchanges_;
  wire_ = std::move(wire);
  head_ = head;
  max_body_ = max_body;
  got_bytes_ = false;
  on_done_ = std::move(done);
  asio::async_write(socket_, asio::buffer(wire_),
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      if (self->closed_) return;
                      if (ec) {
                        Result r;
                        r.ec = ec;
                        self->Finish(std::move(r));
                        return;
                      }
                      self->ReadResponse();
                    });
}

void ClientConnection::ReadResponse() {
  parser_.emplace();
  parser_->body_limit(max_body_);
  parser_->header_limit(64 * 1024);
  if (head_) parser_->skip(true);
  // Boost 1.74 does not apply body_limit to a response's Content-Length
  // (chunked and close-delimited bodies are checked): check it at the header.
  http::async_read_header(
      socket_, buf_, *parser_, [self = shared_from_this()](const error_code& ec, std::size_t) {
        if (ec || self->closed_ || self->parser_->is_done()) {
          self->OnRead(ec);
          return;
        }
        auto length = self->parser_->content_length();
        if (length && *length > self->max_body_) {
          self->got_bytes_ = true;
          self->OnRead(http::error::body_limit);
          return;
        }
        http::async_read(self->socket_, self->buf_, *self->parser_,
                         [self](const error_code& rec, std::size_t) { self->OnRead(rec); });
      });
}

void ClientConnection::OnRead(const error_code& ec) {
  if (closed_) return;
  got_bytes_ = got_bytes_ || parser_->got_some() || buf_.size() > 0;
  Result r;
  r.nothing_read = !got_bytes_;
  if (ec) {
    r.ec = ec;
    Finish(std::move(r));
    return;
  }
  auto& msg = parser_->get();
  const int status = static_cast<int>(msg.result_int());
  if (status >= 100 && status < 200 && status != 101) {  // interim: the final one follows
    ReadResponse();
    return;
  }
  r.status = status;
  for (const auto& field : msg) {
    r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  r.keep_alive = msg.keep_alive() && !parser_->need_eof() && status != 101;
  r.body = std::move(msg.body());
  Finish(std::move(r));
}

void ClientConnection::Finish(Result result) {
  parser_.reset();
  auto cb = std::move(on_done_);
  on_done_ = nullptr;
  cb(std::move(result));
}

void ClientConnection::WatchIdle(Duration idle_timeout, std::function<void()> on_close) {
  on_idle_close_ = std::move(on_close);
  const std::uint64_t gen = ++idle_gen_;
  timer_.expires_after(idle_timeout);
  timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
    if (!ec) self->IdleEnded(gen);
  });
  // Readable while idle means EOF, a reset or unsolicited bytes: unusable.
  socket_.async_wait(asio::socket_base::wait_read,
                     [self = shared_from_this(), gen](const error_code& ec) {
                       if (ec != asio::error::operation_aborted) self->IdleEnded(gen);
                     });
}

void ClientConnection::IdleEnded(std::uint64_t gen) {
  if (closed_ || gen != idle_gen_ || !on_idle_close_) return;
  auto cb = std::move(on_idle_close_);
  on_idle_close_ = nullptr;
  cb();
}

void ClientConnection::StopWatching() {
  ++idle_gen_;
  on_idle_close_ = nullptr;
  timer_.cancel();
  error_code ignored;
  socket_.cancel(ignored);
}

void ClientConnection::Close() {
  if (closed_) return;
  closed_ = true;
  on_connect_ = nullptr;
  on_done_ = nullptr;
  on_idle_close_ = nullptr;
  timer_.cancel();
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace keel::net
