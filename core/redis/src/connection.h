// Connection: one pipelined connection to a Redis server (internal).
//
// Requests are appended to an output buffer and written in batches: at most
// one write is in flight, and what is queued meanwhile goes in the next one.
// Replies are matched to requests in order (Redis answers in order on a
// connection). Each attempt to connect is a Link (socket, buffers, parser)
// that handlers hold on to, so a handler of a closed attempt finds its
// buffers alive and sees it is stale.
//
// Thread-safety: none; every method on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/rng.h"
#include "keel/redis/client.h"
#include "metrics.h"

namespace keel::redis::internal {

// One call on its way to a server.
struct Request {
  std::string bytes;  // encoded command(s)
  Clock::time_point start;
  Clock::time_point deadline;
  int skip_replies = 0;  // leading replies to drop (the +OK of an ASKING sent in `bytes`)
  Callback done;
};

// What a node's connections share.
struct NodeConfig {
  ClientOptions options;
  std::string server;  // "host:port"
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::io_context& io, std::shared_ptr<const NodeConfig> config,
             const ServerMetrics& metrics, std::uint64_t seed);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens the first connection.
  void Start();
  // Connecting or up (not waiting out a reconnect backoff, not closed).
  bool usable() const { return !closed_ && state_ != State::kBackoff; }
  bool ready() const { return !closed_ && state_ == State::kReady; }
  // Why the last attempt failed or the connection was lost; "" before any error.
  const std::string& last_error() const { return last_error_; }
  // Queues a request; Kick() writes what is queued. REQUIRES: usable().
  void Enqueue(Request request);
  void Kick();
  // Closes for good: pending calls are dropped without their callbacks.
  void Close();

 private:
  enum class State { kConnecting, kHandshake, kReady, kBackoff };
  struct Link;
  struct Op {
    std::uint64_t id = 0;
    Callback done;  // empty once completed (timed out): the reply is discarded
    Clock::time_point start;
    int skip_replies = 0;
    bool internal = false;  // handshake (AUTH, SELECT): not counted as a call
  };

  void Connect();
  void OnConnected(const std::shared_ptr<Link>& link);
  void OnReady();
  void EnqueueHandshake(std::vector<std::string> args);
  void StartRead(const std::shared_ptr<Link>& link);
  void OnRead(const std::shared_ptr<Link>& link, std::size_t n);
  // false when the connection failed or closed meanwhile (a callback ran).
  bool OnReply(const std::shared_ptr<Link>& link, Reply reply);
  void Fail(const Status& status, bool protocol_error = false);
  void ScheduleReconnect();
  void ArmDeadlineTimer(Clock::time_point deadline);
  void OnDeadlines();
  void CompleteUser(Op& op, StatusOr<Reply> result, obs::Counter* outcome);

  boost::asio::io_context& io_;
  const std::shared_ptr<const NodeConfig> config_;
  const ServerMetrics metrics_;
  Rng rng_;
  State state_ = State::kBackoff;
  bool closed_ = false;
  bool had_error_ = false;    // a reconnect, not the first connect
  bool logged_down_ = false;  // one warning per outage
  int attempts_ = 0;          // failed connects since the last success
  int handshake_left_ = 0;
  std::shared_ptr<Link> link_;
  std::string last_error_;
  std::string out_;     // encoded requests not yet handed to a write
  std::deque<Op> ops_;  // sent or queued, oldest first; ids increase
  std::uint64_t next_id_ = 0;
  using Deadline = std::pair<Clock::time_point, std::uint64_t>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  boost::asio::steady_timer connect_timer_;   // connect timeout, then reconnect backoff
  boost::asio::steady_timer deadline_timer_;  // the earliest call deadline
  Clock::time_point deadline_armed_ = Clock::time_point::max();
  std::uint64_t deadline_gen_ = 0;
};

}  // namespace keel::redis::internal
