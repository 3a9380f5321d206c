// The admin core both front ends share: authorization, every operation's
// answers and errors, and that an override it puts changes decisions.
#include "admin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace keel::ratelimit {
namespace {

using ::testing::HasSubstr;
using std::chrono::seconds;

constexpr const char* kRules = R"(
domain: api
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 3, name: per_user}
  - key: tenant
    value: "gold*"
    descriptors:
      - key: user
        rate_limits:
          - {unit: second, requests_per_unit: 10, algorithm: token_bucket, burst: 20}
          - {unit: day, requests_per_unit: 1000}
        shadow_mode: true
---
domain: edge
descriptors:
  - key: ip
    rate_limit: {unlimited: true}
)";

constexpr const char* kToken = "0123456789abcdef-token";

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = RuleConfig::Parse(kRules, "rules.yaml");
    ASSERT_TRUE(cfg.ok()) << cfg.status().message();
    LimiterOptions opts;
    opts.store.max_keys = 1000;
    auto l = Limiter::Create(*cfg, opts, clock_, registry_);
    ASSERT_TRUE(l.ok()) << l.status().message();
    limiter_ = std::move(*l);
    clock_.Set(ManualClock::time_point(seconds(1000 * 60)));
    AdminOptions options;
    options.token = kToken;
    options.reload = [this] { return next_reload_; };
    admin_ = std::make_unique<Admin>(*limiter_, std::move(options), registry_);
  }

  ResponseCode Decide(std::string_view user) {
    RateLimitInput in;
    in.domain = "api";
    in.descriptors.push_back({{{"user", user}}, std::nullopt, std::nullopt});
    RateLimitOutput out;
    EXPECT_TRUE(limiter_->Decide(in, &out).ok());
    return out.overall_code;
  }

  OverrideRequest Request(std::string user, std::uint32_t n) {
    OverrideRequest r;
    r.domain = "api";
    r.entries = {{"user", std::move(user)}};
    r.limit = {Algorithm::kFixedWindow, Unit::kMinute, n, {}, {}};
    return r;
  }

  std::string Metrics() { return registry_.Render(obs::ExpositionFormat::kPrometheusText); }

  ManualClock clock_;
  obs::Registry registry_;
  std::unique_ptr<Limiter> limiter_;
  std::unique_ptr<Admin> admin_;
  Status next_reload_;
};

TEST_F(AdminTest, AuthorizeWantsTheExactBearerToken) {
  EXPECT_TRUE(admin_->enabled());
  EXPECT_TRUE(admin_->Authorize(std::string("Bearer ") + kToken).ok());
  const Status missing = admin_->Authorize("");
  EXPECT_EQ(missing.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(missing.message(), "missing bearer token");
  for (std::string_view wrong : {"Bearer wrong", "Bearer 0123456789abcdef-token2", "Bearer 0123456789abcdef-toke",
                                 "0123456789abcdef-token", "Basic 0123456789abcdef-token", "Bearer"}) {
    EXPECT_EQ(admin_->Authorize(wrong).code(), StatusCode::kUnauthenticated) << wrong;
  }
  EXPECT_THAT(Metrics(), HasSubstr("keel_ratelimit_admin_calls_total{op=\"authorize\",result=\"unauthenticated\"} 7\n"));
  Admin disabled(*limiter_, {}, registry_);
  EXPECT_FALSE(disabled.enabled());
}

TEST_F(AdminTest, ListRulesWalksEveryDomainOrOne) {
  auto all = admin_->ListRules("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->rules.size(), 3u);
  const Rule* nested = all->rules[0];
  EXPECT_EQ(nested->domain, "api");
  EXPECT_EQ(nested->full_key, "api.tenant_gold*.user");
  ASSERT_EQ(nested->descriptor.size(), 2u);
  EXPECT_EQ(nested->descriptor[0].key, "tenant");
  EXPECT_EQ(nested->descriptor[0].value, "gold*");
  EXPECT_EQ(nested->descriptor[1].key, "user");
  EXPECT_EQ(nested->descriptor[1].value, "");
  EXPECT_EQ(nested->limits.size(), 2u);
  EXPECT_TRUE(nested->shadow_mode);
  EXPECT_EQ(all->rules[1]->full_key, "api.user");
  EXPECT_EQ(all->rules[2]->full_key, "edge.ip");
  EXPECT_TRUE(all->rules[2]->unlimited);

  auto edge = admin_->ListRules("edge");
  ASSERT_TRUE(edge.ok());
  EXPECT_EQ(edge->rules.size(), 1u);
  EXPECT_EQ(admin_->ListRules("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(AdminTest, PutOverrideChangesDecisionsUntilItExpires) {
  OverrideRequest r = Request("ann", 5);
  r.ttl = seconds(90);
  auto put = admin_->PutOverride(r);
  ASSERT_TRUE(put.ok()) << put.status().message();
  EXPECT_EQ(put->rule, "api.user");
  EXPECT_EQ(put->expires_in, seconds(90));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Decide("ann"), ResponseCode::kOk) << i;  // the rule allows 3
  EXPECT_EQ(Decide("ann"), ResponseCode::kOverLimit);

  clock_.Advance(seconds(30));
  auto list = admin_->ListOverrides("");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].expires_in, seconds(60));
  EXPECT_EQ(list[0].override.limit.requests_per_unit, 5u);
  EXPECT_TRUE(admin_->ListOverrides("edge").empty());

  clock_.Advance(seconds(60));
  EXPECT_TRUE(admin_->ListOverrides("").empty());
  EXPECT_EQ(Decide("ann"), ResponseCode::kOk);  // the rule again, in a new minute
}

TEST_F(AdminTest, PutOverrideRefusesBadInput) {
  struct Case {
    std::function<void(OverrideRequest&)> edit;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](OverrideRequest& r) { r.domain.clear(); }, StatusCode::kInvalidArgument, "domain: required"},
      {[](OverrideRequest& r) { r.entries.clear(); }, StatusCode::kInvalidArgument, "entries: required"},
      {[](OverrideRequest& r) { r.entries[0].key.clear(); }, StatusCode::kInvalidArgument, "entries[0].key: required"},
      {[](OverrideRequest& r) { r.ttl = seconds(0); }, StatusCode::kInvalidArgument, "ttl: must be > 0"},
      {[](OverrideRequest& r) { r.ttl = std::chrono::hours(24 * 3661); }, StatusCode::kInvalidArgument, "ttl: "},
      {[](OverrideRequest& r) { r.limit.burst = 3; }, StatusCode::kInvalidArgument, "limit: "},
      {[](OverrideRequest& r) { r.entries[0].key = "nope"; }, StatusCode::kNotFound, "no rule matches"},
      {[](OverrideRequest& r) { r.domain = "other"; }, StatusCode::kNotFound, "no rule matches"},
  };
  for (const Case& c : cases) {
    OverrideRequest r = Request("bob", 1);
    c.edit(r);
    auto put = admin_->PutOverride(r);
    ASSERT_FALSE(put.ok()) << c.message;
    EXPECT_EQ(put.status().code(), c.code) << c.message;
    EXPECT_THAT(put.status().message(), HasSubstr(c.message));
  }
  EXPECT_TRUE(admin_->ListOverrides("").empty());
}

TEST_F(AdminTest, DeleteOverrideRestoresTheRule) {
  ASSERT_TRUE(admin_->PutOverride(Request("cy", 0)).ok());
  EXPECT_EQ(Decide("cy"), ResponseCode::kOverLimit);
  std::vector<DescriptorEntry> e = {{"user", "cy"}};
  EXPECT_TRUE(admin_->DeleteOverride("api", e).ok());
  EXPECT_EQ(Decide("cy"), ResponseCode::kOk);
  EXPECT_EQ(admin_->DeleteOverride("api", e).code(), StatusCode::kNotFound);
  EXPECT_EQ(admin_->DeleteOverride("", e).code(), StatusCode::kInvalidArgument);
}

TEST_F(AdminTest, GetKeyStateAndResetKey) {
  std::vector<DescriptorEntry> e = {{"user", "dee"}};
  Decide("dee");
  auto state = admin_->GetKeyState("api", e);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status.code, ResponseCode::kOk);
  EXPECT_EQ(state->status.limit_remaining, 2u);
  ASSERT_NE(state->status.current_limit, nullptr);
  EXPECT_EQ(state->status.current_limit->name, "per_user");
  EXPECT_EQ(state->status.duration_until_reset, seconds(60));
  EXPECT_EQ(state->rule, "api.user");
  EXPECT_FALSE(state->override);

  ASSERT_TRUE(admin_->ResetKey("api", e).ok());
  EXPECT_EQ(admin_->GetKeyState("api", e)->status.limit_remaining, 3u);

  ASSERT_TRUE(admin_->PutOverride(Request("dee", 9)).ok());
  state = admin_->GetKeyState("api", e);
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->status.overridden);
  EXPECT_EQ(state->status.limit_remaining, 9u);
  ASSERT_TRUE(state->override);
  EXPECT_FALSE(state->override->expires_in);

  std::vector<DescriptorEntry> none = {{"nope", "x"}};
  EXPECT_EQ(admin_->GetKeyState("api", none).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(admin_->ResetKey("api", none).code(), StatusCode::kNotFound);
  EXPECT_EQ(admin_->GetKeyState("api", {}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AdminTest, ReloadReportsTheRulesOrWhyTheFileWasRefused) {
  auto ok = admin_->Reload();
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->rules, 3u);
  EXPECT_EQ(ok->domains, 2u);
  next_reload_ = InvalidArgument("rules.yaml: descriptors[0].key: required");
  const Status bad = admin_->Reload().status();
  EXPECT_EQ(bad.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(bad.message(), "rules.yaml: descriptors[0].key: required");
  Admin no_file(*limiter_, {kToken, nullptr}, registry_);
  EXPECT_EQ(no_file.Reload().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(Metrics(), HasSubstr("keel_ratelimit_admin_calls_total{op=\"reload\",result=\"failed_precondition\"} 2\n"));
}

}  // namespace
}  // namespace keel::ratelimit
