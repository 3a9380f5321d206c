// The Envoy RLS v3 gRPC endpoint:
// /envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit on grpc++'s
// synchronous server. Bad requests get INVALID_ARGUMENT; a Decider that
// cannot answer gets UNAVAILABLE — never UNKNOWN, which Envoy reads as "not
// limited".
//
//   auto server = GrpcServer::Start("127.0.0.1:0", decider);
//   int port = (*server)->port();
//   (*server)->Shutdown(std::chrono::seconds(5));
//
// Thread-safety: Shutdown() from any thread, once. The decider is called
// from gRPC's threads concurrently and must outlive the server.
#pragma once

#include <memory>
#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/ratelimit/rls_types.h"

namespace keel::ratelimit {

class GrpcServer {
 public:
  // Errors: Unavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<GrpcServer>> Start(const std::string& address, Decider& decider);
  ~GrpcServer();
  int port() const;
  // Stops accepting; calls in flight get until `deadline` to finish.
  void Shutdown(Duration deadline);

 private:
  struct Impl;
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::ratelimit
