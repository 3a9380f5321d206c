// Node: the pool of connections to one Redis server, and the hand-off from
// callers' threads to the io_context's (internal; Client and ClusterClient
// are built on it).
//
// Submit() queues a request under a mutex and posts one Flush per batch;
// Flush, on the io_context's thread, hands the whole batch to the next
// usable connection (ready ones first), which writes it in one go.
//
// Thread-safety: Submit and Reject from any thread; Start, Shutdown and
// everything else on the io_context's thread (or while it is not running).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connection.h"
#include "metrics.h"

namespace keel::redis::internal {

class Node : public std::enable_shared_from_this<Node> {
 public:
  // REQUIRES: ValidateClientOptions(options).ok().
  static std::shared_ptr<Node> Make(boost::asio::io_context& io, const ClientOptions& options,
                                    obs::Registry& registry);
  Node(boost::asio::io_context& io, std::shared_ptr<const NodeConfig> config,
       const ServerMetrics& metrics);

  void Submit(Request request);
  // Runs `done` with `status` soon, on the io_context's thread.
  void Reject(Callback done, Status status);
  // Closes the connections; queued and pending calls are dropped.
  void Shutdown();

  const std::string& server() const { return config_->server; }
  const ClientOptions& options() const { return config_->options; }
  // Any connection up (io thread).
  bool ready() const;

 private:
  void Flush();
  Connection* Pick();

  boost::asio::io_context& io_;
  const std::shared_ptr<const NodeConfig> config_;
  const ServerMetrics metrics_;
  std::vector<std::shared_ptr<Connection>> conns_;
  std::size_t next_ = 0;
  bool shut_down_ = false;

  std::mutex mu_;
  std::vector<Request> queue_;  // GUARDED_BY(mu_)
  bool flush_posted_ = false;   // GUARDED_BY(mu_)
};

// "host:port" ("[v6]:port" for IPv6 literals).
std::string ServerName(const std::string& host, std::uint16_t port);

}  // namespace keel::redis::internal
