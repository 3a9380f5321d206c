// One upstream TCP connection of an HttpClient pool; carries one exchange
// (write a request, read its response) at a time.
//
// Asio handlers hold a shared_ptr to the connection, so it lives until they
// have run; Close() drops the callbacks first, so that nothing calls back into
// the pool after it let go of the connection. Loop thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "keel/base/units.h"

namespace keel::net {

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  using error_code = boost::system::error_code;
  struct Result {
    error_code ec;              // zero: a full response
    bool nothing_read = true;   // failed before any response byte arrived
    bool keep_alive = false;    // reusable after this response
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };

  explicit ClientConnection(boost::asio::io_context& io);

  // done(ec): ec is asio::error::timed_out after `timeout`.
  void Connect(const boost::asio::ip::tcp::endpoint& endpoint, Duration timeout,
               std::function<void(error_code)> done);
  // Writes `wire` and reads one final response (1xx skipped).
  void Execute(std::string wire, bool head, std::uint64_t max_body,
               std::function<void(Result)> done);
  // While idle: on_close runs when the peer closes (or sends anything) or
  // after idle_timeout. StopWatching() before the next Execute().
  void WatchIdle(Duration idle_timeout, std::function<void()> on_close);
  void StopWatching();
  void Close();
  // Has carried an exchange before (so the peer may have closed it since).
  bool reused() const { return exchanges_ > 0; }

 private:
  void ReadResponse();
  void OnRead(const error_code& ec);
  void Finish(Result result);
  void IdleEnded(std::uint64_t gen);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  boost::beast::flat_buffer buf_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  std::string wire_;
  bool head_ = false;
  std::uint64_t max_body_ = 0;
  int exchanges_ = 0;
  bool closed_ = false;
  bool connect_timed_out_ = false;
  bool got_bytes_ = false;
  std::uint64_t idle_gen_ = 0;  // invalidates the handlers of an ended idle watch
  std::function<void(error_code)> on_connect_;
  std::function<void(Result)> on_done_;
  std::function<void()> on_idle_close_;
};

}  // namespace keel::net
