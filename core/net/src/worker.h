// One event loop thread: its listener, its connections, its timers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "keel/net/asio_scheduler.h"
#include "server_shared.h"

namespace keel::net {

class Connection;

class Worker {
 public:
  Worker(int index, ServerShared& shared);
  ~Worker();

  // Opens this worker's SO_REUSEPORT listener on `endpoint`.
  Status Listen(const boost::asio::ip::tcp::endpoint& endpoint);
  std::uint16_t port() const;

  // Runs the event loop on the calling thread until Stop().
  void Run();
  // Thread-safe: stop accepting and close idle connections.
  void BeginDrain();
  // Thread-safe: stop the loop; open connections are closed on destruction.
  void Stop();

  // For this worker's connections (worker thread only).
  ServerShared& shared() { return shared_; }
  const std::string& date_header() const { return date_; }
  obs::Counter* RequestCounter(int route, Method method, int status);
  obs::Histogram* DurationHistogram(int route, Method method);
  void Remove(Connection* conn);
  boost::asio::io_context& io() { return io_; }

  static constexpr int kRouteUnmatched = -1;
  static constexpr int kRouteInvalid = -2;

 private:
  void Accept();
  void Tick();
  void UpdateDate();
  std::string_view RouteLabel(int route) const;

  ServerShared& shared_;
  // Sockets and timers are only touched on this worker's thread, so the
  // reactor runs without locks; posting from other threads stays safe.
  boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  AsioScheduler scheduler_{io_};
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer tick_timer_;
  std::chrono::steady_clock::time_point tick_expected_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::uint64_t, obs::Counter*> counters_;
  std::unordered_map<std::uint64_t, obs::Histogram*> histograms_;
  obs::Gauge* loop_lag_;
  std::string date_;
  bool draining_ = false;
};

}  // namespace keel::net
