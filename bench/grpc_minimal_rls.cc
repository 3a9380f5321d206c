// The reference side of bench/ratelimit_grpc.sh: the least a grpc++ server
// can do for Envoy RLS v3 ShouldRateLimit (sync API, answers OK with one
// descriptor status, no limiting). Prints {"port": P} once listening; runs
// until SIGTERM/SIGINT.
//
//   grpc_minimal_rls [HOST:PORT]   (default 127.0.0.1:0)
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"

namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;

class MinimalRls final : public RateLimitService::Service {
  grpc::Status ShouldRateLimit(grpc::ServerContext*, const RateLimitRequest*,
                               RateLimitResponse* response) override {
    response->set_overall_code(RateLimitResponse::OK);
    response->add_statuses()->set_code(RateLimitResponse::OK);
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::string address = argc > 1 ? argv[1] : "127.0.0.1:0";
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  MinimalRls service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "grpc_minimal_rls: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::printf("{\"port\": %d}\n", port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server->Wait();
  return 0;
}
