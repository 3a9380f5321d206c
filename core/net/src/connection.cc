#include "connection.h"

#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>
#include <exception>

#include "keel/obs/log.h"
#include "keel/resilience/load_shedder.h"
#include "keel/trace/tracer.h"
#include "worker.h"

namespace keel::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr std::size_t kInitialBuffer = 4096;
constexpr std::size_t kShrinkAbove = 64 * 1024;
// Stop parsing pipelined requests and flush once this much output is queued.
constexpr std::size_t kFlushThreshold = 256 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(2);
}  // namespace

Connection::Connection(Worker& worker, asio::ip::tcp::socket socket)
    : worker_(worker),
      socket_(std::move(socket)),
      parser_(worker.shared().options.limits),
      buf_(new char[kInitialBuffer]),
      cap_(kInitialBuffer) {
  headers_.reserve(32);
  params_.reserve(8);
  worker_.shared().stats.connections_open->Add(1);
}

Connection::~Connection() {
  if (responder_state_) responder_state_->conn = nullptr;
  if (span_) {  // closed before its async answer: the span ends unanswered
    span_->SetStatus(trace::SpanStatus::kError, "connection closed before the answer");
    worker_.shared().options.tracer->End(std::move(*span_));
  }
  if (in_flight_) worker_.shared().stats.requests_in_flight->Add(-1);
  worker_.shared().stats.connections_open->Add(-1);
  worker_.shared().connections.fetch_sub(1, std::memory_order_relaxed);
}

void Connection::Start() {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
  deadline_ = Clock::now() + worker_.shared().options.idle_timeout;
  Read();
}

bool Connection::OpDone() {
  --pending_;
  if (!closed_) return false;
  if (pending_ == 0) worker_.Remove(this);  // destroys this
  return true;
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  UpdateInFlight();
  error_code ec;
  socket_.close(ec);
  if (pending_ == 0) {
    Worker* w = &worker_;
    asio::post(w->io(), [w, self = this] { w->Remove(self); });
  }
}

void Connection::EnsureReadSpace() {
  if (end_ < cap_) return;
  if (begin_ > 0) {  // compact: the parser's offsets are relative to begin_
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (end_ < cap_) return;
  }
  const auto& limits = worker_.shared().options.limits;
  std::size_t max_cap = limits.max_header_bytes + 2 * limits.max_body_bytes + 4096;
  std::size_t new_cap = std::min(cap_ * 2, max_cap);
  if (new_cap <= cap_) return;  // full at the cap; the parser reports the limit
  std::unique_ptr<char[]> bigger(new char[new_cap]);
  std::memcpy(bigger.get(), buf_.get(), end_);
  buf_ = std::move(bigger);
  cap_ = new_cap;
}

void Connection::Read() {
  if (reading_) return;
  if (awaiting_) {
    // The pending request's views point into buf_: no compaction, no growth.
    if (peer_eof_ || end_ == cap_) return;
  } else {
    EnsureReadSpace();
  }
  if (end_ == cap_) {  // a chunked message larger than the buffer cap
    WriteError(413, "request too large");
    close_after_write_ = true;
    Pump();
    return;
  }
  ++pending_;
  reading_ = true;
  socket_.async_read_some(asio::buffer(buf_.get() + end_, cap_ - end_),
                          [this](const error_code& ec, std::size_t n) { OnRead(ec, n); });
}

void Connection::OnRead(const error_code& ec, std::size_t n) {
  reading_ = false;
  if (OpDone()) return;
  if (phase_ == Phase::kLinger) {
    begin_ = end_ = 0;
    if (ec) Close();
    else Read();
    return;
  }
  if (ec) {
    if (ec != asio::error::eof) {
      Close();
      return;
    }
    peer_eof_ = true;
  }
  end_ += n;
  if (n > 0) {
    if (phase_ == Phase::kIdle) BeginRequest();
    else if (phase_ == Phase::kBody) deadline_ = Clock::now() + worker_.shared().options.idle_timeout;
  }
  Pump();
}

void Connection::BeginRequest() {
  phase_ = Phase::kHeader;
  deadline_ = Clock::now() + worker_.shared().options.header_timeout;
}

void Connection::EndRequest() {
  phase_ = Phase::kIdle;
  deadline_ = Clock::now() + worker_.shared().options.idle_timeout;
}

void Connection::UpdateInFlight() {
  // Sampled when the connection starts waiting on the network: a request
  // read and answered in one go never shows up, one stalled mid-way does.
  bool busy = !closed_ && (phase_ == Phase::kHeader || phase_ == Phase::kBody ||
                           phase_ == Phase::kHandler || writing_);
  if (busy == in_flight_) return;
  in_flight_ = busy;
  worker_.shared().stats.requests_in_flight->Add(busy ? 1 : -1);
}

bool Connection::HandleOne() {
  if (begin_ == end_ || close_after_write_ || awaiting_) return false;
  ParseResult r = parser_.Feed(buf_.get() + begin_, end_ - begin_, &fed_);
  if (r == ParseResult::kNeedMore) {
    if (parser_.header_done() && phase_ == Phase::kHeader) {
      phase_ = Phase::kBody;
      deadline_ = Clock::now() + worker_.shared().options.idle_timeout;
    }
    if (parser_.header_done() && parser_.expects_continue() && !sent_continue_) {
      out_.append("HTTP/1.1 100 Continue\r\n\r\n");
      sent_continue_ = true;
    }
    return false;
  }
  if (r == ParseResult::kError) {
    auto& stats = worker_.shared().stats;
    switch (parser_.error_status()) {
      case 431: stats.header_too_large->Inc(); break;
      case 413: stats.body_too_large->Inc(); break;
      default: stats.bad_requests->Inc(); break;
    }
    WriteError(parser_.error_status(), parser_.error_message());
    close_after_write_ = true;
    return false;
  }
  Dispatch();
  if (awaiting_) return false;
  NextMessage();
  return true;
}

void Connection::NextMessage() {
  begin_ += fed_;
  fed_ = 0;
  parser_.Reset();
  sent_continue_ = false;
  if (begin_ == end_) {
    EndRequest();
    // A read issued while an async handler was pending targets buf_ + end_:
    // keep the positions until it completes.
    if (reading_) return;
    begin_ = end_ = 0;
    if (cap_ > kShrinkAbove) {
      buf_.reset(new char[kInitialBuffer]);
      cap_ = kInitialBuffer;
    }
  } else {
    BeginRequest();
  }
}

void Connection::Dispatch() {
  start_ = Clock::now();
  const char* msg = buf_.get() + begin_;
  request_ = Request();
  parser_.Fill(msg, &request_, &headers_);
  request_.params = &params_;
  response_.Reset();

  ServerShared& shared = worker_.shared();
  Router::Match match = shared.router.Find(request_.method, request_.path, &params_);
  route_ = match.route_index;
  if (trace::Tracer* tracer = shared.options.tracer) {
    // OpenTelemetry's span name for HTTP servers: "{method} {route}".
    std::string name(request_.method_name);
    if (match.route != nullptr) name.append(" ").append(match.route->pattern);
    span_.emplace(tracer->StartServerSpan(name, parser_.traceparent(msg),
                                          request_.header("tracestate")));
    request_.trace = span_->context();
  } else {
    request_.trace = obs::TraceContext::ContinueOrStart(parser_.traceparent(msg));
  }
  // Log lines written while the handler runs carry the request's trace id.
  obs::ScopedTraceContext log_context(request_.trace);
  if (match.route != nullptr && !Admit()) {
    // response_ holds the 503.
  } else if (match.route != nullptr && match.route->async_handler) {
    StartAsync(*match.route);
    if (awaiting_) return;
  } else if (match.route != nullptr) {
    try {
      match.route->handler(request_, response_);
    } catch (const std::exception& e) {
      shared.stats.handler_exceptions->Inc();
      obs::Log(obs::LogLevel::kError, "handler threw",
               {{"route", match.route->pattern}, {"error", e.what()}});
      response_.Reset();
      response_.SetError(500, "internal error");
    }
  } else if (match.path_matched) {
    route_ = Worker::kRouteUnmatched;
    response_.SetError(405, "method not allowed");
    response_.add_header("Allow", match.allow);
  } else {
    route_ = Worker::kRouteUnmatched;
    response_.SetError(404, "no route for this path");
  }
  Finish();
}

bool Connection::Admit() {
  const ServerShared& shared = worker_.shared();
  resilience::LoadShedder* shedder = shared.options.admission;
  if (shedder == nullptr || shared.admission_exempt[static_cast<std::size_t>(route_)]) return true;
  admitted_ = shedder->TryAdmit(
      resilience::ParsePriority(request_.header(resilience::kPriorityHeader)));
  if (admitted_) return true;
  response_.SetError(503, "overloaded: shed by admission control");
  response_.add_header("Retry-After",
                       std::to_string(resilience::RetryAfterSeconds(shedder->RetryAfter())));
  return false;
}

void Connection::CompleteAdmission() {
  const int status = response_.status();
  if (status == 503 || status == 504) {
    admitted_->OnDropped();
  } else if (status >= 400 && status < 500) {
    // Bad requests are answered fast: as samples they would read as a
    // lower no-load RTT than the service has.
    admitted_->OnIgnore();
  } else {
    admitted_->OnSuccess();
  }
  admitted_.reset();
}

void Connection::StartAsync(const Router::Route& route) {
  // The state is reused unless a late Responder still holds the previous one.
  if (!responder_state_ || responder_state_.use_count() > 1) {
    responder_state_ = std::make_shared<internal::ResponderState>();
  }
  responder_state_->conn = this;
  awaiting_ = true;
  in_handler_ = true;
  ++pending_;  // released by OnResponderDone
  try {
    route.async_handler(request_, response_, Responder(responder_state_));
  } catch (const std::exception& e) {
    // The Responder argument was destroyed (answered 500) unless the handler
    // moved it away; then the handler still owns the answer.
    worker_.shared().stats.handler_exceptions->Inc();
    obs::Log(obs::LogLevel::kError, "handler threw",
             {{"route", route.pattern}, {"error", e.what()}});
    if (!awaiting_) {
      response_.Reset();
      response_.SetError(500, "internal error");
    }
  }
  in_handler_ = false;
  if (awaiting_) phase_ = Phase::kHandler;
}

void Connection::OnResponderDone(bool dropped) {
  responder_state_->conn = nullptr;
  if (dropped) {
    worker_.shared().stats.responders_dropped->Inc();
    obs::Log(obs::LogLevel::kError, "async handler dropped its responder",
             {{"path", request_.path}});
    response_.Reset();
    response_.SetError(500, "internal error");
  }
  awaiting_ = false;
  if (in_handler_) {  // answered inline: Dispatch goes on as for a sync handler
    --pending_;
    return;
  }
  if (OpDone()) return;  // closed meanwhile: nothing to answer
  Finish();
  NextMessage();
  Pump();
}

void Connection::Finish() {
  ServerShared& shared = worker_.shared();
  const Request& req = request_;
  bool close = !req.keep_alive || response_.close() || draining_ || peer_eof_ ||
               shared.draining.load(std::memory_order_relaxed);
  if (admitted_) CompleteAdmission();
  Serialize(req, close);
  if (close) close_after_write_ = true;

  const auto elapsed = Clock::now() - start_;
  worker_.RequestCounter(route_, req.method, response_.status())->Inc();
  // A head-sampled trace is exported whatever its outcome: its id is a safe
  // exemplar (one dropped by tail sampling would point nowhere).
  const bool exemplar = span_.has_value() && (req.trace.flags & 1) != 0;
  worker_.DurationHistogram(route_, req.method)
      ->Observe(std::chrono::duration<double>(elapsed).count(), exemplar ? &req.trace : nullptr);
  if (span_) EndSpan();
  if (shared.options.access_log && obs::LogEnabled(obs::LogLevel::kInfo)) {
    auto trace_id = req.trace.TraceIdHex();
    auto span_id = req.trace.SpanIdHex();
    obs::Log(obs::LogLevel::kInfo, "request",
             {{"method", req.method_name},
              {"path", req.path},
              {"status", response_.status()},
              {"duration_us", std::chrono::duration<double, std::micro>(elapsed).count()},
              {"bytes", static_cast<std::uint64_t>(response_.body().size())},
              {"trace_id", std::string_view(trace_id.data(), trace_id.size())},
              {"span_id", std::string_view(span_id.data(), span_id.size())}});
  }
}

void Connection::EndSpan() {
  trace::Span& span = *span_;
  span.SetAttribute(trace::attr::kHttpRequestMethod, request_.method_name);
  span.SetAttribute(trace::attr::kUrlPath, request_.path);
  if (route_ >= 0) {
    span.SetAttribute(trace::attr::kHttpRoute,
                      worker_.shared().router.routes()[static_cast<std::size_t>(route_)].pattern);
  }
  const int status = response_.status();
  span.SetAttribute(trace::attr::kHttpResponseStatusCode, status);
  if (status >= 500) {
    span.SetAttribute(trace::attr::kErrorType, std::to_string(status));
    span.SetStatus(trace::SpanStatus::kError);
  }
  worker_.shared().options.tracer->End(std::move(span));
  span_.reset();
}

void Connection::WriteError(int status, std::string_view message) {
  response_.Reset();
  response_.SetError(status, message);
  Request req;
  req.method = Method::kOther;
  req.trace = obs::TraceContext::ContinueOrStart({});
  Serialize(req, /*close=*/true);
  worker_.RequestCounter(Worker::kRouteInvalid, Method::kOther, status)->Inc();
}

void Connection::Serialize(const Request& req, bool close) {
  char num[24];
  const int status = response_.status();
  out_.append("HTTP/1.1 ");
  auto r = std::to_chars(num, num + sizeof num, status);
  out_.append(num, r.ptr).push_back(' ');
  out_.append(ReasonPhrase(status)).append("\r\nServer: keel\r\nDate: ");
  out_.append(worker_.date_header()).append("\r\n");
  if (!response_.content_type().empty()) {
    out_.append("Content-Type: ").append(response_.content_type()).append("\r\n");
  }
  const bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
  if (!no_body) {
    r = std::to_chars(num, num + sizeof num, response_.body().size());
    out_.append("Content-Length: ").append(num, r.ptr).append("\r\n");
  }
  auto trace = req.trace.ToHeader();
  out_.append("traceparent: ").append(trace.data(), trace.size()).append("\r\n");
  for (std::size_t i = 0; i < response_.header_count(); ++i) {
    const auto& [name, value] = response_.headers()[i];
    out_.append(name).append(": ").append(value).append("\r\n");
  }
  if (close) out_.append("Connection: close\r\n");
  else if (req.version == 10) out_.append("Connection: keep-alive\r\n");
  out_.append("\r\n");
  if (!no_body && req.method != Method::kHead) out_.append(response_.body());
}

Connection::WriteResult Connection::Write() {
  while (written_ < out_.size()) {
    error_code ec;
    std::size_t n = socket_.write_some(
        asio::buffer(out_.data() + written_, out_.size() - written_), ec);
    written_ += n;
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) {
      Close();
      return WriteResult::kClosed;
    }
  }
  if (written_ == out_.size()) {
    out_.clear();
    written_ = 0;
    if (out_.capacity() > 1024 * 1024) std::string().swap(out_);
    return WriteResult::kDone;
  }
  // The peer is not reading fast enough: finish in the background.
  writing_ = true;
  deadline_ = Clock::now() + worker_.shared().options.idle_timeout;
  ++pending_;
  asio::async_write(socket_, asio::buffer(out_.data() + written_, out_.size() - written_),
                    [this](const error_code& ec, std::size_t) {
                      if (OpDone()) return;
                      writing_ = false;
                      if (ec) {
                        Close();
                        return;
                      }
                      out_.clear();
                      written_ = 0;
                      Pump();
                    });
  return WriteResult::kPending;
}

void Connection::Pump() {
  while (true) {
    bool progressed = false;
    while (out_.size() < kFlushThreshold && HandleOne()) progressed = true;
    if (!out_.empty()) {
      WriteResult w = Write();
      if (w != WriteResult::kDone) {
        UpdateInFlight();
        return;
      }
    }
    // Requests left in the buffer after a flush-threshold stop: go again.
    if (!progressed || close_after_write_ || begin_ == end_) break;
  }
  if (close_after_write_) {
    Linger();
    return;
  }
  // A half-closed peer still gets the pending async answer.
  if (!awaiting_ && (peer_eof_ || (draining_ && phase_ == Phase::kIdle))) {
    Close();
    return;
  }
  Read();
  UpdateInFlight();
}

void Connection::Linger() {
  // Half-close and drain what the peer still sends, so that our final
  // response is not destroyed by a reset caused by unread input.
  phase_ = Phase::kLinger;
  deadline_ = Clock::now() + kLingerTime;
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec || peer_eof_) {
    Close();
    return;
  }
  begin_ = end_ = fed_ = 0;
  Read();
}

void Connection::OnTick(Clock::time_point now) {
  // An async handler bounds its own time.
  if (closed_ || awaiting_ || now < deadline_) return;
  auto& stats = worker_.shared().stats;
  if (phase_ == Phase::kHeader && !writing_) {
    stats.header_timeouts->Inc();
    // Unparsed input is dropped: the answer is final.
    begin_ = end_ = fed_ = 0;
    parser_.Reset();
    WriteError(408, "request header not received in time");
    close_after_write_ = true;
    if (Write() == WriteResult::kDone) Linger();
    return;
  }
  if (phase_ != Phase::kLinger) stats.idle_timeouts->Inc();
  Close();
}

void Connection::Drain() {
  draining_ = true;
  if (phase_ == Phase::kIdle && !writing_ && out_.empty()) Close();
}

Responder::Responder(std::shared_ptr<internal::ResponderState> state) : state_(std::move(state)) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (state_) Finish(/*dropped=*/true);
    state_ = std::move(other.state_);
  }
  return *this;
}

Responder::~Responder() {
  if (state_) Finish(/*dropped=*/true);
}

void Responder::Send() {
  if (state_) Finish(/*dropped=*/false);
}

void Responder::Finish(bool dropped) {
  auto state = std::move(state_);
  state_ = nullptr;
  if (state->conn != nullptr) state->conn->OnResponderDone(dropped);  // may destroy it
}

}  // namespace keel::net
