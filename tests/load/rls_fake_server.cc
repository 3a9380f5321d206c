// A fake Envoy RLS v3 server for tests/load/test_load.py: answers OK for the
// first N calls of each distinct request (domain and descriptors), then
// OVER_LIMIT. Prints {"port": P} once listening; on SIGTERM or SIGINT stops
// and prints {"ok": n, "over_limit": n} with its own counts.
//
//   rls_fake_server N
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"

namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;

class FakeRls final : public RateLimitService::Service {
 public:
  explicit FakeRls(long limit) : limit_(limit) {}

  grpc::Status ShouldRateLimit(grpc::ServerContext*, const RateLimitRequest* request,
                               RateLimitResponse* response) override {
    std::string key = request->domain();
    for (const auto& d : request->descriptors()) {
      key += '|';
      for (const auto& e : d.entries()) key += e.key() + "=" + e.value() + ",";
    }
    std::lock_guard<std::mutex> lock(mu_);
    const bool ok = ++calls_[key] <= limit_;
    ++(ok ? ok_ : over_limit_);
    response->set_overall_code(ok ? RateLimitResponse::OK : RateLimitResponse::OVER_LIMIT);
    return grpc::Status::OK;
  }

  void PrintCounts() {
    std::lock_guard<std::mutex> lock(mu_);
    std::printf("{\"ok\": %ld, \"over_limit\": %ld, \"keys\": %zu}\n", ok_, over_limit_, calls_.size());
    std::fflush(stdout);
  }

 private:
  const long limit_;
  std::mutex mu_;
  std::map<std::string, long> calls_;  // guarded by mu_
  long ok_ = 0, over_limit_ = 0;       // guarded by mu_
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: rls_fake_server N\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // gRPC's threads inherit the mask

  FakeRls service(std::atol(argv[1]));
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "rls_fake_server: cannot listen\n");
    return 1;
  }
  std::printf("{\"port\": %d}\n", port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  service.PrintCounts();
  return 0;
}
