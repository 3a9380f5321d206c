// NatsServer: a real nats-server with JetStream (Debian's nats-server) for
// tests, on a free loopback port, its store in a temp dir.
//
//   auto nats = NatsServer::Start();
//   nats::Options options{.url = (*nats)->url()};
//   (*nats)->Restart();   // same port and store: streams and consumers survive
//
// Thread-safety: none; use from one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "keel/base/status.h"

namespace keel::nats::testing {

class NatsServer {
 public:
  static StatusOr<std::unique_ptr<NatsServer>> Start();
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  void Stop();       // SIGTERM (a clean shutdown)
  void Kill();       // SIGKILL
  Status Resume();   // start again on the same port and store
  Status Restart() { Stop(); return Resume(); }

 private:
  NatsServer() = default;
  Status Launch();

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace keel::nats::testing
