// The Envoy RLS v3 gRPC endpoint:
// /envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit on grpc++'s
// synchronous server, and with an Admin, the admin service
// keel.ratelimit.admin.v1.RateLimitAdmin on the same port (admin_grpc.h). Bad requests get INVALID_ARGUMENT; a Decider that
// cannot answer gets UNAVAILABLE — never UNKNOWN, which Envoy reads as "not
// limited".
//
//   auto server = GrpcServer::Start("127.0.0.1:0", decider, &admin);
//   int port = (*server)->port();
//   (*server)->Shutdown(std::chrono::seconds(5));
//
// Thread-safety: Shutdown() from any thread, once. The decider and the
// admin are called from gRPC's threads concurrently and must outlive the
// server.
#pragma once

#include <memory>
#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/ratelimit/rls_types.h"

namespace keel::ratelimit {
class Admin;
}  // namespace keel::ratelimit

namespace keel::ratelimit {

class GrpcServer {
 public:
  // `admin` may be null: no admin service. Errors: Unavailable when the
  // address cannot be bound.
  static StatusOr<std::unique_ptr<GrpcServer>> Start(const std::string& address, Decider& decider,
                                                     Admin* admin = nullptr);
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
