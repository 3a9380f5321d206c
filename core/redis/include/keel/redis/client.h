// Client: a pipelining client for one Redis server, over a small pool of
// connections.
//
//   boost::asio::io_context io;   // run by one thread (the client's loop)
//   ClientOptions options{.host = "127.0.0.1", .port = 6379,
//                         .command_timeout = std::chrono::milliseconds(5)};
//   auto client = Client::Create(io, options, obs::DefaultRegistry());
//   if (!client.ok()) return client.status();
//   (*client)->Exec({"INCR", "hits"}, [](StatusOr<Reply> r) { ... });
//
// Pipelining: commands issued while the loop is busy (from any thread, or
// within one handler) are written together in one write(2) and their
// replies matched in order; a command never waits for another's reply.
// Each batch goes to the next usable connection of the pool (round-robin),
// so two commands are only ordered if the second is sent after the first's
// reply; with pool_size 1 they are ordered as Exec was called (from one
// thread). Blocking commands (BLPOP), SUBSCRIBE, MULTI/EXEC and WATCH do not
// belong on a shared pipeline and are not supported; use Lua scripts.
//
// Connections: Create() does not wait for them. Commands issued while a
// connection is being opened wait for it (bounded by their timeout). When a
// connection is lost its commands in flight fail at once with ErrorKind
// kConnection, and it reconnects after a backoff (reconnect_backoff_min,
// doubling, full jitter, up to reconnect_backoff_max); while no connection is
// usable, commands fail at once instead of waiting.
//
// Timeouts: each call has one (CallOptions::timeout, default command_timeout).
// On expiry its callback runs with ErrorKind kTimeout; the reply, when it
// comes, is read and discarded, and the connection stays up.
//
// Thread-safety: Exec is thread-safe. Callbacks run on the io_context's
// thread, exactly once per Exec, never inside Exec; they may call Exec.
// Create and the destructor: on the io_context's thread, or while it is not
// running, with no Exec running concurrently. Destroying the client (also
// from inside one of its callbacks) drops the pending calls without running
// their callbacks. The io_context must outlive the client.
//
// Metrics (label server="host:port"): keel_redis_commands_total{outcome},
// keel_redis_command_duration_seconds, keel_redis_inflight_commands,
// keel_redis_connections, keel_redis_connection_errors_total,
// keel_redis_reconnects_total, keel_redis_writes_total,
// keel_redis_late_replies_total (docs/redis.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/obs/metrics.h"
#include "keel/redis/executor.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace keel::redis {

struct ClientOptions {
  std::string host = "127.0.0.1";  // IP literal or a name (resolved on each connect)
  std::uint16_t port = 6379;
  std::string username;  // ACL user; empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECT db after connecting when not 0
  Duration connect_timeout = std::chrono::milliseconds(500);  // TCP connect + AUTH/SELECT
  Duration command_timeout = std::chrono::seconds(1);  // > 0; the rate limiter uses 5ms
  std::size_t pool_size = 2;                            // connections, >= 1
  Duration reconnect_backoff_min = std::chrono::milliseconds(20);
  Duration reconnect_backoff_max = std::chrono::milliseconds(500);
};

// Checks options (port, pool size, timeouts); OK or InvalidArgument.
Status ValidateClientOptions(const ClientOptions& options);

namespace internal {
class Node;
}  // namespace internal

class Client final : public Executor {
 public:
  static StatusOr<std::unique_ptr<Client>> Create(boost::asio::io_context& io,
                                                  ClientOptions options,
                                                  obs::Registry& registry);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // "host:port", the metrics' server label.
  const std::string& server() const { return server_; }
  Duration command_timeout() const override;

 protected:
  void Submit(std::span<const std::string_view> args, const CallOptions& options,
              Callback done) override;

 private:
  Client(std::shared_ptr<internal::Node> node, std::string server);
  std::shared_ptr<internal::Node> node_;
  std::string server_;
};

}  // namespace keel::redis
