// The gRPC admin service on the same server and port as Envoy's
// RateLimitService, through a real grpc++ client: the bearer token in
// metadata, status codes, and an override that changes ShouldRateLimit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>

#include "admin.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "grpc_server.h"
#include "keel/ratelimit/admin/v1/admin.grpc.pb.h"

namespace keel::ratelimit {
namespace {

namespace pb = keel::ratelimit::admin::v1;
using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;
using std::chrono::seconds;

constexpr const char* kRules = R"(
domain: api
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 2, name: per_user}
)";

constexpr const char* kToken = "0123456789abcdef-token";

class AdminGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = RuleConfig::Parse(kRules, "rules.yaml");
    ASSERT_TRUE(cfg.ok());
    auto l = Limiter::Create(*cfg, {}, SystemClock::Default(), registry_);
    ASSERT_TRUE(l.ok());
    limiter_ = std::move(*l);
    admin_ = std::make_unique<Admin>(*limiter_, AdminOptions{kToken, [this] { return next_reload_; }}, registry_);
    auto s = GrpcServer::Start("127.0.0.1:0", *limiter_, admin_.get());
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
    auto channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials());
    admin_stub_ = pb::RateLimitAdmin::NewStub(channel);
    rls_stub_ = RateLimitService::NewStub(channel);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(seconds(5));
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kToken) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + seconds(10));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  static pb::Key Key(const std::string& user) {
    pb::Key key;
    key.set_domain("api");
    pb::Entry* e = key.add_entries();
    e->set_key("user");
    e->set_value(user);
    return key;
  }

  RateLimitResponse::Code Decide(const std::string& user) {
    RateLimitRequest req;
    req.set_domain("api");
    auto* e = req.add_descriptors()->add_entries();
    e->set_key("user");
    e->set_value(user);
    RateLimitResponse res;
    auto ctx = Context("");
    EXPECT_TRUE(rls_stub_->ShouldRateLimit(ctx.get(), req, &res).ok());
    return res.overall_code();
  }

  obs::Registry registry_;
  std::unique_ptr<Limiter> limiter_;
  std::unique_ptr<Admin> admin_;
  Status next_reload_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<pb::RateLimitAdmin::Stub> admin_stub_;
  std::unique_ptr<RateLimitService::Stub> rls_stub_;
};

TEST_F(AdminGrpcTest, WithoutOrWithAWrongTokenIsUnauthenticated) {
  pb::ListRulesResponse res;
  auto none = Context("");
  grpc::Status s = admin_stub_->ListRules(none.get(), {}, &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "missing bearer token");
  auto wrong = Context("not-the-token");
  s = admin_stub_->ListRules(wrong.get(), {}, &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "wrong bearer token");
  pb::ReloadResponse reload;
  auto wrong2 = Context("not-the-token");
  EXPECT_EQ(admin_stub_->Reload(wrong2.get(), {}, &reload).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // The RLS service on the same port needs no token.
  EXPECT_EQ(Decide("anyone"), RateLimitResponse::OK);
}

TEST_F(AdminGrpcTest, AnOverrideChangesShouldRateLimit) {
  pb::PutOverrideRequest put;
  *put.mutable_key() = Key("vip");
  put.mutable_limit()->set_unit(pb::UNIT_MINUTE);
  put.mutable_limit()->set_requests_per_unit(4);
  put.mutable_limit()->set_algorithm(pb::ALGORITHM_GCRA);
  put.mutable_ttl()->set_seconds(300);
  pb::Override o;
  auto ctx = Context();
  grpc::Status s = admin_stub_->PutOverride(ctx.get(), put, &o);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(o.rule(), "api.user");
  EXPECT_EQ(o.limit().algorithm(), pb::ALGORITHM_GCRA);
  EXPECT_GT(o.expires_in().seconds(), 290);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Decide("vip"), RateLimitResponse::OK) << i;  // the rule allows 2
  EXPECT_EQ(Decide("vip"), RateLimitResponse::OVER_LIMIT);

  pb::GetKeyStateRequest get;
  *get.mutable_key() = Key("vip");
  pb::KeyState state;
  ctx = Context();
  ASSERT_TRUE(admin_stub_->GetKeyState(ctx.get(), get, &state).ok());
  EXPECT_EQ(state.limit_remaining(), 0u);
  EXPECT_EQ(state.current_limit().requests_per_unit(), 4u);
  EXPECT_EQ(state.rule(), "api.user");
  EXPECT_TRUE(state.has_active_override());

  pb::ResetKeyRequest reset;
  *reset.mutable_key() = Key("vip");
  pb::ResetKeyResponse reset_res;
  ctx = Context();
  ASSERT_TRUE(admin_stub_->ResetKey(ctx.get(), reset, &reset_res).ok());
  EXPECT_EQ(Decide("vip"), RateLimitResponse::OK);

  pb::ListOverridesResponse list;
  ctx = Context();
  ASSERT_TRUE(admin_stub_->ListOverrides(ctx.get(), {}, &list).ok());
  ASSERT_EQ(list.overrides_size(), 1);
  EXPECT_EQ(list.overrides(0).key().entries(0).value(), "vip");

  pb::DeleteOverrideRequest del;
  *del.mutable_key() = Key("vip");
  pb::DeleteOverrideResponse del_res;
  ctx = Context();
  ASSERT_TRUE(admin_stub_->DeleteOverride(ctx.get(), del, &del_res).ok());
  ctx = Context();
  EXPECT_EQ(admin_stub_->DeleteOverride(ctx.get(), del, &del_res).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminGrpcTest, BadInputIsInvalidArgumentUnknownKeysNotFound) {
  pb::Override o;
  pb::PutOverrideRequest put;
  *put.mutable_key() = Key("x");
  auto ctx = Context();
  EXPECT_EQ(admin_stub_->PutOverride(ctx.get(), put, &o).error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // no limit
  put.mutable_limit()->set_requests_per_unit(1);
  ctx = Context();
  grpc::Status s = admin_stub_->PutOverride(ctx.get(), put, &o);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "limit.unit: required (UNIT_SECOND, UNIT_MINUTE, ...)");
  put.mutable_limit()->set_unit(pb::UNIT_SECOND);
  put.mutable_ttl()->set_seconds(-1);
  ctx = Context();
  EXPECT_EQ(admin_stub_->PutOverride(ctx.get(), put, &o).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  put.mutable_ttl()->set_seconds(std::int64_t{1} << 62);  // no overflow: refused
  ctx = Context();
  EXPECT_EQ(admin_stub_->PutOverride(ctx.get(), put, &o).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  put.clear_ttl();
  put.mutable_key()->mutable_entries(0)->set_key("nope");
  ctx = Context();
  EXPECT_EQ(admin_stub_->PutOverride(ctx.get(), put, &o).error_code(), grpc::StatusCode::NOT_FOUND);

  pb::GetKeyStateRequest get;
  get.mutable_key()->set_domain("api");
  pb::KeyState state;
  ctx = Context();
  s = admin_stub_->GetKeyState(ctx.get(), get, &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "entries: required non-empty list");
  *get.mutable_key() = Key("x");
  get.mutable_key()->mutable_entries(0)->set_key("nope");
  ctx = Context();
  EXPECT_EQ(admin_stub_->GetKeyState(ctx.get(), get, &state).error_code(), grpc::StatusCode::NOT_FOUND);

  pb::ListRulesRequest rules;
  rules.set_domain("nope");
  pb::ListRulesResponse rules_res;
  ctx = Context();
  EXPECT_EQ(admin_stub_->ListRules(ctx.get(), rules, &rules_res).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminGrpcTest, ListRulesAndReload) {
  pb::ListRulesResponse rules;
  auto ctx = Context();
  ASSERT_TRUE(admin_stub_->ListRules(ctx.get(), {}, &rules).ok());
  ASSERT_EQ(rules.rules_size(), 1);
  const pb::Rule& r = rules.rules(0);
  EXPECT_EQ(r.key(), "api.user");
  ASSERT_EQ(r.match_size(), 1);
  EXPECT_EQ(r.match(0).key(), "user");
  ASSERT_EQ(r.limits_size(), 1);
  EXPECT_EQ(r.limits(0).unit(), pb::UNIT_MINUTE);
  EXPECT_EQ(r.limits(0).requests_per_unit(), 2u);
  EXPECT_EQ(r.limits(0).algorithm(), pb::ALGORITHM_FIXED_WINDOW);
  EXPECT_EQ(r.limits(0).name(), "per_user");

  pb::ReloadResponse reload;
  ctx = Context();
  ASSERT_TRUE(admin_stub_->Reload(ctx.get(), {}, &reload).ok());
  EXPECT_EQ(reload.rules(), 1u);
  next_reload_ = InvalidArgument("rules.yaml: broken");
  ctx = Context();
  grpc::Status s = admin_stub_->Reload(ctx.get(), {}, &reload);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "rules.yaml: broken");
}

TEST(AdminGrpcDisabledTest, WithoutATokenTheServiceIsUnimplemented) {
  obs::Registry registry;
  auto cfg = RuleConfig::Parse(kRules, "rules.yaml");
  ASSERT_TRUE(cfg.ok());
  auto limiter = Limiter::Create(*cfg, {}, SystemClock::Default(), registry);
  ASSERT_TRUE(limiter.ok());
  Admin admin(**limiter, {}, registry);
  auto server = GrpcServer::Start("127.0.0.1:0", **limiter, &admin);
  ASSERT_TRUE(server.ok());
  auto stub = pb::RateLimitAdmin::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
  pb::ListRulesResponse res;
  EXPECT_EQ(stub->ListRules(&ctx, {}, &res).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  (*server)->Shutdown(seconds(5));
}

}  // namespace
}  // namespace keel::ratelimit
