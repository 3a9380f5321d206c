// RedisServer: a real redis-server (Debian's /usr/bin/redis-server) for
// tests, on 127.0.0.1 and a free port, in its own temp dir, stopped and
// removed by the destructor.
//
//   auto server = RedisServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status().message();
//   ClientOptions options{.port = (*server)->port()};
//   (*server)->Call({"CLIENT", "PAUSE", "300"});   // set-up over its own connection
//   (*server)->Stop(); (*server)->Restart();       // same port and data dir
//
// Persistence is off (no RDB, no AOF). The server's log is dir()/redis.log;
// start failures quote its tail. The process dies with the thread that
// started it, so start fixtures from the test's main thread.
//
// Thread-safety: none; use from one thread (Call may run on any).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/redis/reply.h"

namespace keel::redis::testing {

struct RedisServerOptions {
  std::string binary = "/usr/bin/redis-server";
  std::string password;                 // --requirepass when set
  bool cluster = false;                 // --cluster-enabled yes (port + 10000 is kept free too)
  Duration cluster_node_timeout = std::chrono::milliseconds(1000);
  std::vector<std::string> extra_args;  // e.g. {"--maxmemory", "10mb"}
  Duration start_timeout = std::chrono::seconds(10);
};

class RedisServer {
 public:
  static StatusOr<std::unique_ptr<RedisServer>> Start(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::string host() const { return "127.0.0.1"; }
  std::uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:port"
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }

  // SIGTERM and wait (SIGKILL after 5 s).
  void Stop();
  // SIGKILL and wait: a crash, as far as clients and the cluster can tell.
  void Kill();
  // Starts again on the same port and dir. REQUIRES: !running().
  Status Restart();

  // Runs one command over a fresh blocking connection (hiredis), AUTH first
  // when the server has a password. Unavailable when no reply came.
  StatusOr<Reply> Call(const std::vector<std::string>& args,
                       Duration timeout = std::chrono::seconds(5)) const;

 private:
  RedisServer(RedisServerOptions options, std::string dir, std::uint16_t port);
  Status Launch();
  std::vector<std::string> Argv() const;

  const RedisServerOptions options_;
  const std::string dir_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

}  // namespace keel::redis::testing
