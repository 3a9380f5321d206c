// One client connection: reads, parses, dispatches and writes in order.
//
// All methods run on the owning worker's thread. The connection counts its
// pending asynchronous operations (a pending async response is one of them);
// once closed it is destroyed by the worker when the last has completed.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/net/http_message.h"
#include "keel/net/http_parser.h"
#include "keel/net/router.h"
#include "keel/resilience/adaptive_limiter.h"
#include "keel/trace/span.h"

namespace keel::net {

class Worker;
class Connection;

namespace internal {
// Shared by a Connection and the Responder of its pending async request;
// conn is null once the request is answered or the connection destroyed.
struct ResponderState {
  Connection* conn = nullptr;
};
}  // namespace internal

class Connection {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(Worker& worker, boost::asio::ip::tcp::socket socket);
  ~Connection();

  void Start();
  // Enforces deadlines; called by the worker's periodic tick.
  void OnTick(Clock::time_point now);
  // Graceful shutdown: close now if idle, else after the current response.
  void Drain();
  // Closes the socket; pending operations complete with operation_aborted.
  void Close();
  // The Responder of the pending async request was called or dropped.
  void OnResponderDone(bool dropped);

  std::size_t index = 0;  // position in the worker's list

 private:
  enum class Phase { kIdle, kHeader, kBody, kHandler, kLinger };
  enum class WriteResult { kDone, kPending, kClosed };

  void Read();
  void OnRead(const boost::system::error_code& ec, std::size_t n);
  // Parses and answers what is buffered, writes, then reads or closes.
  void Pump();
  // Returns false when no complete request could be taken from the buffer.
  bool HandleOne();
  void Dispatch();
  // Completes span_ with the request's attributes and hands it to the tracer.
  void EndSpan();
  void StartAsync(const Router::Route& route);
  // False (and the 503 in response_) when admission control sheds the request.
  bool Admit();
  // Completes admitted_ with the outcome the response's status implies.
  void CompleteAdmission();
  // Serializes the response to request_ and records metrics and the log.
  void Finish();
  // Moves past the answered message to the next one.
  void NextMessage();
  void WriteError(int status, std::string_view message);
  void Serialize(const Request& req, bool close);
  WriteResult Write();
  void BeginRequest();
  void EndRequest();
  void UpdateInFlight();
  void Linger();
  bool OpDone();  // bookkeeping at the top of every completion handler
  void EnsureReadSpace();

  Worker& worker_;
  boost::asio::ip::tcp::socket socket_;
  RequestParser parser_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;  // first byte of the current message
  std::size_t end_ = 0;    // end of buffered data
  std::size_t fed_ = 0;    // bytes of the current message the parser consumed
  std::string out_;
  std::size_t written_ = 0;
  Request request_;
  std::optional<trace::Span> span_;  // the request's server span, when tracing
  // The admission token of the request being handled, when admission is on.
  std::optional<resilience::AdaptiveLimiter::Token> admitted_;
  Response response_;
  Clock::time_point start_;
  int route_ = 0;
  std::shared_ptr<internal::ResponderState> responder_state_;
  std::vector<Header> headers_;
  std::vector<PathParam> params_;
  Phase phase_ = Phase::kIdle;
  Clock::time_point deadline_;
  int pending_ = 0;
  bool closed_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool peer_eof_ = false;
  bool close_after_write_ = false;
  bool draining_ = false;
  bool sent_continue_ = false;
  bool in_flight_ = false;
  bool awaiting_ = false;    // an async handler has not answered yet
  bool in_handler_ = false;  // inside the async handler call
};

}  // namespace keel::net
