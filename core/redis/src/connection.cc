#include "connection.h"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "errors.h"
#include "keel/obs/log.h"
#include "protocol.h"

namespace keel::redis::internal {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

struct Connection::Link {
  explicit Link(asio::io_context& io) : socket(io), resolver(io) {}
  tcp::socket socket;
  tcp::resolver resolver;
  bool connected = false;
  bool writing = false;
  std::string wbuf;  // the bytes of the write in flight
  std::array<char, 16 * 1024> rbuf;
  ReplyReader reader;
};

Connection::Connection(asio::io_context& io, std::shared_ptr<const NodeConfig> config,
                       const ServerMetrics& metrics, std::uint64_t seed)
    : io_(io),
      config_(std::move(config)),
      metrics_(metrics),
      rng_(seed),
      connect_timer_(io),
      deadline_timer_(io) {}

Connection::~Connection() = default;

void Connection::Start() {
  if (!closed_) Connect();
}

void Connection::Connect() {
  state_ = State::kConnecting;
  link_ = std::make_shared<Link>(io_);
  handshake_left_ = 0;
  const ClientOptions& o = config_->options;
  if (!o.password.empty()) {
    if (o.username.empty()) {
      EnqueueHandshake({"AUTH", o.password});
    } else {
      EnqueueHandshake({"AUTH", o.username, o.password});
    }
  }
  if (o.db != 0) EnqueueHandshake({"SELECT", std::to_string(o.db)});

  auto self = shared_from_this();
  auto link = link_;
  connect_timer_.expires_after(o.connect_timeout);
  connect_timer_.async_wait([self, link](const error_code& ec) {
    if (ec || link != self->link_ || self->state_ == State::kReady) return;
    self->Fail(ConnectionError(
        self->config_->server,
        "failed: connect timeout after " + FormatDuration(self->config_->options.connect_timeout)));
  });
  auto on_connect = [self, link](const error_code& ec, const tcp::endpoint&) {
    if (link != self->link_) return;
    if (ec) {
      self->Fail(ConnectionError(self->config_->server, "failed: " + ec.message()));
      return;
    }
    self->OnConnected(link);
  };
  const std::string host = o.host == "localhost" ? "127.0.0.1" : o.host;
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    std::array<tcp::endpoint, 1> endpoints{tcp::endpoint(address, o.port)};
    asio::async_connect(link->socket, endpoints, on_connect);
    return;
  }
  link->resolver.async_resolve(
      host, std::to_string(o.port),
      [self, link, on_connect](const error_code& rec, const tcp::resolver::results_type& results) {
        if (link != self->link_) return;
        if (rec) {
          self->Fail(ConnectionError(self->config_->server, "failed: resolve: " + rec.message()));
          return;
        }
        asio::async_connect(link->socket, results, on_connect);
      });
}

void Connection::EnqueueHandshake(std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  out_ += EncodeCommand(views);
  Op op;
  op.id = ++next_id_;
  op.internal = true;
  op.start = SystemClock::Default().Now();
  std::weak_ptr<Connection> weak = weak_from_this();
  std::string name = args[0];
  op.done = [weak, name](StatusOr<Reply> r) {
    auto self = weak.lock();
    if (!self || !r.ok()) return;  // a failed connection already handled
    if (r->is_error()) {
      self->Fail(ConnectionError(self->config_->server, "failed: " + name + ": " + r->str));
      return;
    }
    if (--self->handshake_left_ == 0) self->OnReady();
  };
  ops_.push_back(std::move(op));
  ++handshake_left_;
}

void Connection::OnConnected(const std::shared_ptr<Link>& link) {
  link->connected = true;
  error_code ignored;
  link->socket.set_option(tcp::no_delay(true), ignored);
  StartRead(link);
  if (handshake_left_ == 0) {
    OnReady();
  } else {
    state_ = State::kHandshake;
  }
  Kick();
}

void Connection::OnReady() {
  state_ = State::kReady;
  connect_timer_.cancel();
  attempts_ = 0;
  metrics_.connections->Add(1);
  if (had_error_) {
    metrics_.reconnects->Inc();
    obs::Log(obs::LogLevel::kInfo, "redis connection re-established",
             {{"server", config_->server}});
  }
  logged_down_ = false;
}

void Connection::Enqueue(Request request) {
  out_ += request.bytes;
  Op op;
  op.id = ++next_id_;
  op.done = std::move(request.done);
  op.start = request.start;
  op.skip_replies = request.skip_replies;
  metrics_.inflight->Add(1);
  deadlines_.emplace(request.deadline, op.id);
  ops_.push_back(std::move(op));
  ArmDeadlineTimer(request.deadline);
}

void Connection::Kick() {
  if (!link_ || !link_->connected || link_->writing || out_.empty()) return;
  auto link = link_;
  link->writing = true;
  link->wbuf.swap(out_);
  metrics_.writes->Inc();
  auto self = shared_from_this();
  asio::async_write(link->socket, asio::buffer(link->wbuf),
                    [self, link](const error_code& ec, std::size_t) {
                      if (link != self->link_) return;
                      link->writing = false;
                      link->wbuf.clear();
                      if (ec) {
                        self->Fail(ConnectionError(self->config_->server, "lost: " + ec.message()));
                        return;
                      }
                      self->Kick();
                    });
}

void Connection::StartRead(const std::shared_ptr<Link>& link) {
  auto self = shared_from_this();
  link->socket.async_read_some(
      asio::buffer(link->rbuf), [self, link](const error_code& ec, std::size_t n) {
        if (link != self->link_) return;
        if (ec) {
          self->Fail(ConnectionError(self->config_->server, "lost: " + ec.message()));
          return;
        }
        self->OnRead(link, n);
      });
}

void Connection::OnRead(const std::shared_ptr<Link>& link, std::size_t n) {
  if (Status s = link->reader.Feed(link->rbuf.data(), n); !s.ok()) {
    Fail(ProtocolError(config_->server, s.message()), true);
    return;
  }
  while (true) {
    auto next = link->reader.Next();
    if (!next.ok()) {
      Fail(ProtocolError(config_->server, next.status().message()), true);
      return;
    }
    if (!next->has_value()) break;
    if (!OnReply(link, std::move(**next))) return;
  }
  StartRead(link);
}

bool Connection::OnReply(const std::shared_ptr<Link>& link, Reply reply) {
  if (ops_.empty()) {
    Fail(ProtocolError(config_->server, "a reply with no command waiting for it"), true);
    return false;
  }
  Op& front = ops_.front();
  if (front.skip_replies > 0) {
    --front.skip_replies;
    return true;
  }
  Op op = std::move(front);
  ops_.pop_front();
  if (!op.done) {
    metrics_.late_replies->Inc();
    return true;
  }
  if (op.internal) {
    op.done(std::move(reply));
  } else {
    metrics_.duration->Observe(
        std::chrono::duration<double>(SystemClock::Default().Now() - op.start).count());
    obs::Counter* outcome = reply.is_error() ? metrics_.error_reply : metrics_.ok;
    CompleteUser(op, std::move(reply), outcome);
  }
  return !closed_ && link == link_;
}

void Connection::CompleteUser(Op& op, StatusOr<Reply> result, obs::Counter* outcome) {
  outcome->Inc();
  metrics_.inflight->Add(-1);
  Callback done = std::move(op.done);
  op.done = nullptr;
  done(std::move(result));
}

void Connection::Fail(const Status& status, bool protocol_error) {
  if (closed_) return;
  if (link_) {
    error_code ignored;
    link_->socket.close(ignored);
    link_.reset();
  }
  if (state_ == State::kReady) metrics_.connections->Add(-1);
  metrics_.connection_errors->Inc();
  had_error_ = true;
  last_error_ = status.message();
  if (!logged_down_) {
    obs::Log(obs::LogLevel::kWarn, "redis connection error",
             {{"server", config_->server}, {"error", status.message()}});
    logged_down_ = true;
  }
  out_.clear();
  deadlines_ = {};
  ++deadline_gen_;
  deadline_timer_.cancel();
  deadline_armed_ = Clock::time_point::max();
  ScheduleReconnect();
  std::deque<Op> ops;
  ops.swap(ops_);
  for (Op& op : ops) {
    if (!op.done || op.internal) continue;
    CompleteUser(op, status, protocol_error ? metrics_.protocol : metrics_.connection);
    if (closed_) return;
  }
}

void Connection::ScheduleReconnect() {
  state_ = State::kBackoff;
  const ClientOptions& o = config_->options;
  // Doubling with jitter in [cap/2, cap]: spread out, never a tight loop.
  Duration cap = o.reconnect_backoff_max;
  if (attempts_ < 30) cap = std::min(cap, o.reconnect_backoff_min * (std::int64_t{1} << attempts_));
  ++attempts_;
  const auto half = cap.count() / 2;
  const Duration delay(half + rng_.Uniform(0, std::max<std::int64_t>(half, 0)));
  auto self = shared_from_this();
  connect_timer_.expires_after(delay);
  connect_timer_.async_wait([self](const error_code& ec) {
    if (ec || self->closed_ || self->state_ != State::kBackoff) return;
    self->Connect();
  });
}

void Connection::ArmDeadlineTimer(Clock::time_point deadline) {
  if (deadline >= deadline_armed_) return;
  deadline_armed_ = deadline;
  const std::uint64_t gen = ++deadline_gen_;
  deadline_timer_.expires_at(deadline);
  auto self = shared_from_this();
  deadline_timer_.async_wait([self, gen](const error_code& ec) {
    if (ec || gen != self->deadline_gen_ || self->closed_) return;
    self->deadline_armed_ = Clock::time_point::max();
    self->OnDeadlines();
  });
}

void Connection::OnDeadlines() {
  const auto now = SystemClock::Default().Now();
  // Entries of calls that already completed are dropped on the way, so the
  // timer is next armed for a call still waiting, not for every call sent.
  while (!deadlines_.empty()) {
    const auto [deadline, id] = deadlines_.top();
    auto it = std::lower_bound(ops_.begin(), ops_.end(), id,
                               [](const Op& op, std::uint64_t v) { return op.id < v; });
    const bool waiting = it != ops_.end() && it->id == id && it->done;
    if (waiting && deadline > now) break;
    deadlines_.pop();
    if (!waiting) continue;
    auto link = link_;
    CompleteUser(*it, TimeoutError(config_->server, deadline - it->start), metrics_.timeout);
    if (closed_ || link != link_) return;  // the callback closed the client, or Fail()ed
  }
  if (!deadlines_.empty()) ArmDeadlineTimer(deadlines_.top().first);
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  if (link_) {
    error_code ignored;
    link_->socket.close(ignored);
    link_->resolver.cancel();
    link_.reset();
  }
  if (state_ == State::kReady) metrics_.connections->Add(-1);
  connect_timer_.cancel();
  deadline_timer_.cancel();
  for (const Op& op : ops_) {
    if (op.done && !op.internal) metrics_.inflight->Add(-1);
  }
  ops_.clear();
  out_.clear();
  deadlines_ = {};
}

}  // namespace keel::redis::internal
