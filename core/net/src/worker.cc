#include "worker.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <ctime>

#include "connection.h"
#include "keel/obs/log.h"
#include "worker_context_internal.h"

namespace keel::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr auto kTick = std::chrono::milliseconds(100);
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
}  // namespace

Worker::Worker(int index, ServerShared& shared)
    : shared_(shared), acceptor_(io_), tick_timer_(io_) {
  loop_lag_ = shared_.stats.loop_lag->Get({std::to_string(index)});
  UpdateDate();
}

Worker::~Worker() {
  // Connections reference the io_context: destroy them first.
  for (auto& c : connections_) c->Close();
  connections_.clear();
}

Status Worker::Listen(const asio::ip::tcp::endpoint& endpoint) {
  error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.set_option(ReusePort(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + endpoint.address().to_string() + ":" +
                       std::to_string(endpoint.port()) + ": " + ec.message());
  }
  return Status::Ok();
}

std::uint16_t Worker::port() const {
  error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void Worker::Run() {
  Accept();
  tick_expected_ = std::chrono::steady_clock::now() + kTick;
  tick_timer_.expires_at(tick_expected_);
  tick_timer_.async_wait([this](const error_code& ec) {
    if (!ec) Tick();
  });
  SetWorkerContext(&scheduler_, &io_);
  io_.run();
  SetWorkerContext(nullptr, nullptr);
}

void Worker::Accept() {
  acceptor_.async_accept([this](const error_code& ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // EMFILE and friends: count, back off briefly instead of spinning.
      shared_.stats.accept_errors->Inc();
      obs::Log(obs::LogLevel::kWarn, "accept failed", {{"error", ec.message()}});
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
      timer->async_wait([this, timer](const error_code&) {
        if (acceptor_.is_open()) Accept();
      });
      return;
    }
    if (shared_.connections.fetch_add(1, std::memory_order_relaxed) >=
        shared_.options.max_connections) {
      shared_.connections.fetch_sub(1, std::memory_order_relaxed);
      shared_.stats.connections_rejected->Inc();
      error_code ignored;
      socket.close(ignored);
    } else {
      shared_.stats.connections_accepted->Inc();
      auto conn = std::make_unique<Connection>(*this, std::move(socket));
      conn->index = connections_.size();
      Connection* raw = conn.get();
      connections_.push_back(std::move(conn));
      if (draining_) raw->Drain();
      else raw->Start();
    }
    Accept();
  });
}

void Worker::Remove(Connection* conn) {
  std::size_t i = conn->index;
  if (i >= connections_.size() || connections_[i].get() != conn) return;
  if (i != connections_.size() - 1) {
    std::swap(connections_[i], connections_.back());
    connections_[i]->index = i;
  }
  connections_.pop_back();
}

void Worker::Tick() {
  auto now = std::chrono::steady_clock::now();
  loop_lag_->Set(std::chrono::duration<double>(now - tick_expected_).count());
  UpdateDate();
  // OnTick may close connections; removal is deferred, so indexes stay valid.
  for (std::size_t i = 0; i < connections_.size(); ++i) connections_[i]->OnTick(now);
  tick_expected_ = now + kTick;
  tick_timer_.expires_at(tick_expected_);
  tick_timer_.async_wait([this](const error_code& ec) {
    if (!ec) Tick();
  });
}

void Worker::UpdateDate() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  date_ = buf;
}

void Worker::BeginDrain() {
  asio::post(io_, [this] {
    draining_ = true;
    error_code ec;
    acceptor_.close(ec);
    for (std::size_t i = 0; i < connections_.size(); ++i) connections_[i]->Drain();
  });
}

void Worker::Stop() { io_.stop(); }

std::string_view Worker::RouteLabel(int route) const {
  if (route == kRouteUnmatched) return "unmatched";
  if (route == kRouteInvalid) return "invalid";
  return shared_.router.routes()[static_cast<std::size_t>(route)].pattern;
}

obs::Counter* Worker::RequestCounter(int route, Method method, int status) {
  std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(route)) << 32) |
                      (static_cast<std::uint64_t>(method) << 16) |
                      static_cast<std::uint64_t>(status & 0xffff);
  auto it = counters_.find(key);
  if (it != counters_.end()) return it->second;
  std::string code = std::to_string(status);
  obs::Counter* c = shared_.stats.requests->Get({RouteLabel(route), MethodLabel(method), code});
  counters_.emplace(key, c);
  return c;
}

obs::Histogram* Worker::DurationHistogram(int route, Method method) {
  std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(route)) << 32) |
                      static_cast<std::uint64_t>(method);
  auto it = histograms_.find(key);
  if (it != histograms_.end()) return it->second;
  obs::Histogram* h = shared_.stats.request_duration->Get({RouteLabel(route), MethodLabel(method)});
  histograms_.emplace(key, h);
  return h;
}

}  // namespace keel::net
