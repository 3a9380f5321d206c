// The gRPC front end with a Decider that fails: Envoy reads UNKNOWN as "not
// limited", so a store failure must come back as UNAVAILABLE.
#include "grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"

namespace keel::ratelimit {
namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;

class ScriptedDecider : public Decider {
 public:
  Status next = Status::Ok();
  Status Decide(const RateLimitInput& input, RateLimitOutput* output) override {
    if (!next.ok()) return next;
    output->overall_code = ResponseCode::kOverLimit;
    output->statuses.assign(input.descriptors.size(), DescriptorOutput{});
    output->statuses[0].code = ResponseCode::kOverLimit;
    output->statuses[0].overridden = true;
    output->statuses[0].override_limit = {7, Unit::kWeek};
    output->statuses[0].duration_until_reset = std::chrono::milliseconds(1500);
    return Status::Ok();
  }
};

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = GrpcServer::Start("127.0.0.1:0", decider_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
    stub_ = RateLimitService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Call(RateLimitResponse* res) {
    RateLimitRequest req;
    req.set_domain("d");
    auto* e = req.add_descriptors()->add_entries();
    e->set_key("k");
    e->set_value("v");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->ShouldRateLimit(&ctx, req, res);
  }

  ScriptedDecider decider_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<RateLimitService::Stub> stub_;
};

TEST_F(GrpcServerTest, StoreFailureIsUnavailableNotUnknown) {
  decider_.next = Unavailable("store unreachable");
  RateLimitResponse res;
  grpc::Status s = Call(&res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "store unreachable");
}

TEST_F(GrpcServerTest, MapsTheDecisionOntoEnvoyFields) {
  RateLimitResponse res;
  ASSERT_TRUE(Call(&res).ok());
  EXPECT_EQ(res.overall_code(), RateLimitResponse::OVER_LIMIT);
  ASSERT_EQ(res.statuses_size(), 1);
  EXPECT_EQ(res.statuses(0).current_limit().requests_per_unit(), 7u);
  EXPECT_EQ(res.statuses(0).current_limit().unit(), RateLimitResponse::RateLimit::WEEK);  // Envoy's 7
  EXPECT_EQ(res.statuses(0).duration_until_reset().seconds(), 1);
  EXPECT_EQ(res.statuses(0).duration_until_reset().nanos(), 500'000'000);
}

TEST_F(GrpcServerTest, RequestWithoutDescriptorsIsInvalidArgument) {
  RateLimitRequest req;
  req.set_domain("d");
  RateLimitResponse res;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->ShouldRateLimit(&ctx, req, &res).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace keel::ratelimit
