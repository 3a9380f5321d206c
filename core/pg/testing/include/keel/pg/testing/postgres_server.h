// PostgresServer: a real PostgreSQL (Debian's postgresql-15) for tests, in a
// temp dir, on a free loopback port, trust authentication, fsync off.
//
//   auto pg = PostgresServer::Start();           // initdb + postgres, ~1-2 s
//   ASSERT_TRUE(pg.ok()) << pg.status().message();
//   auto url = (*pg)->CreateDatabase("orders_test");   // a fresh database
//   pg::Options options{.url = *url};
//
// Running as root (CI), the server runs as the `postgres` user (PostgreSQL
// refuses root). Share one per test binary (SetUpTestSuite) and give each
// test its own database.
//
// Thread-safety: none; use from one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::pg::testing {

class PostgresServer {
 public:
  static StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();  // stops the server and removes its directory
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::uint16_t port() const { return port_; }
  // postgresql://keel@127.0.0.1:PORT/DB
  std::string url(const std::string& db = "postgres") const;
  // CREATE DATABASE name; its url.
  StatusOr<std::string> CreateDatabase(const std::string& name);

  // SIGKILL (a crash: no shutdown checkpoint), then start again on the same
  // port and data; it recovers from its WAL.
  Status Crash();
  // Fast shutdown (SIGINT) and start again.
  Status Restart();
  // Stops it (fast shutdown); Resume() starts it again.
  void Stop();
  Status Resume();
  bool running() const { return pid_ > 0; }

 private:
  PostgresServer() = default;
  Status Launch();
  Status WaitReady(Duration timeout);

  std::string bin_;   // /usr/lib/postgresql/NN/bin
  std::string dir_;   // temp dir: data/, socket, logs
  std::string user_;  // "" or "postgres"
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace keel::pg::testing
