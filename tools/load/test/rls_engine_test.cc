// RunLoad over rls:// against an in-process fake RLS server: counts agree
// with the server's, OVER_LIMIT is not an error, a dead port counts
// `unavailable`. Runs several load threads, so it is also the TSan check of
// the gRPC transport's hand-off from gRPC's threads to the load threads.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "keel/load/load_engine.h"

namespace keel::load {
namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;

// OK for the first `limit` calls of each request key, then OVER_LIMIT.
class FakeRls final : public RateLimitService::Service {
 public:
  explicit FakeRls(long limit) : limit_(limit) {}
  grpc::Status ShouldRateLimit(grpc::ServerContext*, const RateLimitRequest* request,
                               RateLimitResponse* response) override {
    std::string key = request->domain();
    for (const auto& d : request->descriptors()) {
      for (const auto& e : d.entries()) key += "|" + e.key() + "=" + e.value();
    }
    std::lock_guard<std::mutex> lock(mu);
    const bool ok = ++calls[key] <= limit_;
    ++(ok ? ok_count : over_count);
    response->set_overall_code(ok ? RateLimitResponse::OK : RateLimitResponse::OVER_LIMIT);
    return grpc::Status::OK;
  }
  const long limit_;
  std::mutex mu;
  std::map<std::string, long> calls;
  std::uint64_t ok_count = 0, over_count = 0;
};

class RlsEngineTest : public ::testing::Test {
 protected:
  void StartServer(long limit) {
    service_ = std::make_unique<FakeRls>(limit);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  LoadConfig Config(int port, const std::string& descriptor) {
    LoadConfig cfg;
    cfg.url = "rls://127.0.0.1:" + std::to_string(port);
    cfg.target = *ParseUrl(cfg.url);
    RlsRequestSpec spec;
    spec.domain = "d";
    spec.descriptors.push_back(*ParseDescriptor(descriptor));
    cfg.rls = std::move(spec);
    cfg.threads = 2;
    cfg.connections = 2;
    cfg.duration = std::chrono::seconds(1);
    return cfg;
  }

  std::unique_ptr<FakeRls> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(RlsEngineTest, OpenLoopCountsAgreeWithTheServer) {
  StartServer(10);
  LoadConfig cfg = Config(port_, "user={{rand:1:5}}");
  cfg.profile = *RateProfile::Constant(400, std::chrono::seconds(1));
  auto r = RunLoad(cfg);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->total_errors(), 0u);
  EXPECT_EQ(r->completed, 400u);
  std::lock_guard<std::mutex> lock(service_->mu);
  EXPECT_EQ(r->over_limit, service_->over_count);
  EXPECT_EQ(r->completed - r->over_limit, service_->ok_count);
  EXPECT_EQ(service_->ok_count, 5u * 10u);
  std::uint64_t over = 0;
  for (const SecondRow& s : r->seconds) over += s.over_limit;
  EXPECT_EQ(over, r->over_limit);
}

TEST_F(RlsEngineTest, ClosedLoopRunsWithoutErrors) {
  StartServer(1'000'000'000);
  auto r = RunLoad(Config(port_, "k={{seq}}"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->total_errors(), 0u);
  EXPECT_GT(r->completed, 100u);
  EXPECT_EQ(r->over_limit, 0u);
}

TEST_F(RlsEngineTest, UnreachableServerCountsUnavailable) {
  StartServer(1);
  const int dead = port_;
  server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
  LoadConfig cfg = Config(dead, "k=v");
  cfg.profile = *RateProfile::Constant(100, std::chrono::seconds(1));
  auto r = RunLoad(cfg);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->completed, 0u);
  EXPECT_GE(r->errors[static_cast<std::size_t>(ErrorKind::kUnavailable)], 90u);
}

}  // namespace
}  // namespace keel::load
