#include "keel/ratelimit/limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <thread>

namespace keel::ratelimit {
namespace {

using ::testing::HasSubstr;
using std::chrono::seconds;

constexpr const char* kRules = R"(
domain: api
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 3}
  - key: path
    value: /login
    rate_limits:
      - {unit: second, requests_per_unit: 2}
      - {unit: minute, requests_per_unit: 3, name: login_minute}
  - key: shadow
    rate_limit: {unit: minute, requests_per_unit: 1}
    shadow_mode: true
  - key: internal
    rate_limit: {unlimited: true, replaces: [{name: login_minute}]}
  - key: tenant
    rate_limit: {unit: second, requests_per_unit: 10, algorithm: token_bucket}
    detailed_metric: true
  - key: blocked
    rate_limit: {unit: hour, requests_per_unit: 0}
)";

class LimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = RuleConfig::Parse(kRules, "rules.yaml");
    ASSERT_TRUE(cfg.ok()) << cfg.status().message();
    LimiterOptions opts;
    opts.store.max_keys = 1000;
    opts.hash_seed = 42;
    opts.metric_rules = 8;
    auto l = Limiter::Create(*cfg, opts, clock_, registry_);
    ASSERT_TRUE(l.ok()) << l.status().message();
    limiter_ = std::move(*l);
    clock_.Set(ManualClock::time_point(seconds(1000 * 60)));  // on a minute boundary
  }

  // One request: each inner list is one descriptor of key/value pairs.
  RateLimitOutput Ask(std::vector<std::vector<DescriptorEntry>> descriptors, std::int64_t hits = 1) {
    RateLimitInput in;
    in.domain = "api";
    in.hits_addend = hits;
    for (auto& d : descriptors) in.descriptors.push_back({d, std::nullopt, std::nullopt});
    RateLimitOutput out;
    Status s = limiter_->Decide(in, &out);
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }

  std::string Metrics() { return registry_.Render(obs::ExpositionFormat::kPrometheusText); }

  ManualClock clock_;
  obs::Registry registry_;
  std::unique_ptr<Limiter> limiter_;
};

TEST_F(LimiterTest, OkUntilTheLimitThenOverLimitWithRemainingAndReset) {
  for (std::uint32_t want_remaining : {2u, 1u, 0u}) {
    auto out = Ask({{{"user", "ann"}}});
    EXPECT_EQ(out.overall_code, ResponseCode::kOk);
    ASSERT_EQ(out.statuses.size(), 1u);
    EXPECT_EQ(out.statuses[0].limit_remaining, want_remaining);
    ASSERT_TRUE(out.statuses[0].current_limit);
    EXPECT_EQ(out.statuses[0].current_limit->spec.requests_per_unit, 3u);
  }
  clock_.Advance(seconds(20));
  auto out = Ask({{{"user", "ann"}}});
  EXPECT_EQ(out.overall_code, ResponseCode::kOverLimit);
  EXPECT_EQ(out.statuses[0].code, ResponseCode::kOverLimit);
  EXPECT_EQ(out.statuses[0].limit_remaining, 0u);
  EXPECT_EQ(out.statuses[0].duration_until_reset, seconds(40));  // the minute's end
  // Another value of the same key has its own bucket.
  EXPECT_EQ(Ask({{{"user", "bob"}}}).overall_code, ResponseCode::kOk);
  clock_.Advance(seconds(40));
  EXPECT_EQ(Ask({{{"user", "ann"}}}).overall_code, ResponseCode::kOk);
}

TEST_F(LimiterTest, SeveralLimitsAllMustPassAndADenialConsumesNone) {
  EXPECT_EQ(Ask({{{"path", "/login"}}}).overall_code, ResponseCode::kOk);
  EXPECT_EQ(Ask({{{"path", "/login"}}}).overall_code, ResponseCode::kOk);
  auto out = Ask({{{"path", "/login"}}});  // third in one second: the 2/s limit denies
  EXPECT_EQ(out.overall_code, ResponseCode::kOverLimit);
  EXPECT_EQ(out.statuses[0].current_limit->spec.requests_per_unit, 2u);
  clock_.Advance(seconds(1));
  out = Ask({{{"path", "/login"}}});  // the denied one did not count against 3/min
  EXPECT_EQ(out.overall_code, ResponseCode::kOk);
  EXPECT_EQ(out.statuses[0].current_limit->name, "login_minute");  // least remaining
  EXPECT_EQ(out.statuses[0].limit_remaining, 0u);
  clock_.Advance(seconds(1));
  out = Ask({{{"path", "/login"}}});
  EXPECT_EQ(out.overall_code, ResponseCode::kOverLimit);
  EXPECT_EQ(out.statuses[0].current_limit->name, "login_minute");
}

TEST_F(LimiterTest, ReplacesDropsTheNamedLimitForTheWholeRequest) {
  for (int i = 0; i < 5; ++i) {
    auto out = Ask({{{"path", "/login"}}, {{"internal", "x"}}});
    EXPECT_EQ(out.overall_code, i < 2 ? ResponseCode::kOk : ResponseCode::kOverLimit) << i;
    EXPECT_EQ(out.statuses[1].limit_remaining, std::numeric_limits<std::uint32_t>::max());
    clock_.Advance(seconds(1));  // the 2/s limit refills; 3/min is replaced
    if (i == 1) break;
  }
  auto out = Ask({{{"path", "/login"}}, {{"internal", "x"}}});
  EXPECT_EQ(out.overall_code, ResponseCode::kOk);  // a 3rd in the minute, allowed
  EXPECT_EQ(out.statuses[0].current_limit->spec.requests_per_unit, 2u);
}

TEST_F(LimiterTest, ShadowModeAnswersOkButCounts) {
  Ask({{{"shadow", "s"}}});
  auto out = Ask({{{"shadow", "s"}}});
  EXPECT_EQ(out.overall_code, ResponseCode::kOk);
  EXPECT_EQ(out.statuses[0].code, ResponseCode::kOk);
  const std::string m = Metrics();
  EXPECT_THAT(m, HasSubstr("keel_ratelimit_over_limit_total{rule=\"api.shadow\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("keel_ratelimit_shadow_mode_total{rule=\"api.shadow\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("keel_ratelimit_total_hits_total{rule=\"api.shadow\"} 2\n"));
}

TEST_F(LimiterTest, NoRuleIsOkWithoutALimitAndZeroRequestsDenyAll) {
  auto out = Ask({{{"unknown", "x"}}});
  EXPECT_EQ(out.overall_code, ResponseCode::kOk);
  EXPECT_EQ(out.statuses[0].current_limit, nullptr);
  out = Ask({{{"blocked", "x"}}});
  EXPECT_EQ(out.overall_code, ResponseCode::kOverLimit);
  EXPECT_EQ(out.statuses[0].duration_until_reset, std::chrono::hours(1));
}

TEST_F(LimiterTest, HitsZeroQueriesAndNegativeRefunds) {
  Ask({{{"user", "q"}}}, 2);
  auto out = Ask({{{"user", "q"}}}, 0);
  EXPECT_EQ(out.statuses[0].limit_remaining, 1u);
  out = Ask({{{"user", "q"}}}, 0);
  EXPECT_EQ(out.statuses[0].limit_remaining, 1u);  // a query consumes nothing
  out = Ask({{{"user", "q"}}}, -2);
  EXPECT_EQ(out.statuses[0].limit_remaining, 3u);
  out = Ask({{{"user", "q"}}}, 4);  // more than the limit at once
  EXPECT_EQ(out.overall_code, ResponseCode::kOverLimit);
}

TEST_F(LimiterTest, DescriptorOverrideUsesItsOwnFixedWindow) {
  RateLimitInput in;
  in.domain = "api";
  std::vector<DescriptorEntry> e = {{"anything", "x"}};
  in.descriptors.push_back({e, LimitOverride{1, Unit::kHour}, std::nullopt});
  RateLimitOutput out;
  ASSERT_TRUE(limiter_->Decide(in, &out).ok());
  EXPECT_EQ(out.overall_code, ResponseCode::kOk);
  EXPECT_TRUE(out.statuses[0].overridden);
  ASSERT_TRUE(limiter_->Decide(in, &out).ok());
  EXPECT_EQ(out.overall_code, ResponseCode::kOverLimit);
}

TEST_F(LimiterTest, BadRequestsAreInvalidArgument) {
  RateLimitInput in;
  RateLimitOutput out;
  EXPECT_EQ(limiter_->Decide(in, &out).code(), StatusCode::kInvalidArgument);
  in.domain = "api";
  EXPECT_THAT(limiter_->Decide(in, &out).message(), HasSubstr("descriptor list must not be empty"));
}

TEST_F(LimiterTest, SetConfigSwapsTheRules) {
  auto cfg = RuleConfig::Parse("domain: api\ndescriptors:\n  - {key: user, rate_limit: {unit: minute, requests_per_unit: 1}}\n",
                               "new.yaml");
  ASSERT_TRUE(cfg.ok());
  limiter_->SetConfig(*cfg);
  EXPECT_EQ(Ask({{{"user", "z"}}}).overall_code, ResponseCode::kOk);
  EXPECT_EQ(Ask({{{"user", "z"}}}).overall_code, ResponseCode::kOverLimit);
  EXPECT_EQ(limiter_->config()->text(), (*cfg)->text());
}

TEST_F(LimiterTest, MetricsCountNearLimitAndFoldDetailedKeysPastTheCap) {
  for (int i = 0; i < 9; ++i) Ask({{{"tenant", "t1"}}});  // 10/s bucket: 9 used
  std::string m = Metrics();
  EXPECT_THAT(m, HasSubstr("keel_ratelimit_within_limit_total{rule=\"api.tenant_t1\"} 9\n"));
  EXPECT_THAT(m, HasSubstr("keel_ratelimit_near_limit_total{rule=\"api.tenant_t1\"} 2\n"));  // 8 and 9 of 10
  for (int t = 0; t < 20; ++t) Ask({{{"tenant", "x" + std::to_string(t)}}});
  m = Metrics();
  EXPECT_THAT(m, HasSubstr("keel_ratelimit_total_hits_total{rule=\"_other\"}"));
  EXPECT_THAT(m, HasSubstr("keel_ratelimit_decision_seconds_count "));
  EXPECT_THAT(m, HasSubstr("keel_ratelimit_store_entries "));
}

TEST_F(LimiterTest, InspectDoesNotConsumeAndResetRefills) {
  Ask({{{"user", "i"}}}, 3);
  std::vector<DescriptorEntry> e = {{"user", "i"}};
  RateLimitOutput out;
  ASSERT_TRUE(limiter_->Inspect("api", e, &out).ok());
  EXPECT_EQ(out.statuses[0].limit_remaining, 0u);
  ASSERT_TRUE(limiter_->Reset("api", e).ok());
  ASSERT_TRUE(limiter_->Inspect("api", e, &out).ok());
  EXPECT_EQ(out.statuses[0].limit_remaining, 3u);
  std::vector<DescriptorEntry> none = {{"nope", "x"}};
  EXPECT_EQ(limiter_->Reset("api", none).code(), StatusCode::kNotFound);
}

// Admin overrides: the limit of one exact descriptor, in place of its rule's.
KeyOverride Override(std::string value, LimitSpec spec) {
  KeyOverride o;
  o.domain = "api";
  o.entries = {{"user", std::move(value)}};
  o.limit = spec;
  return o;
}

TEST_F(LimiterTest, AnOverrideReplacesTheRuleLimitForThatDescriptorOnly) {
  ASSERT_TRUE(limiter_->PutOverride(Override("vip", {Algorithm::kFixedWindow, Unit::kMinute, 5, {}, {}})).ok());
  for (std::uint32_t remaining : {4u, 3u, 2u, 1u, 0u}) {
    auto out = Ask({{{"user", "vip"}}});
    ASSERT_EQ(out.overall_code, ResponseCode::kOk) << remaining;
    EXPECT_EQ(out.statuses[0].limit_remaining, remaining);
    EXPECT_TRUE(out.statuses[0].overridden);
    EXPECT_EQ(out.statuses[0].override_limit.requests_per_unit, 5u);
    EXPECT_EQ(out.statuses[0].override_limit.unit, Unit::kMinute);
  }
  EXPECT_EQ(Ask({{{"user", "vip"}}}).overall_code, ResponseCode::kOverLimit);
  // Another user still has the rule's 3 per minute.
  auto other = Ask({{{"user", "ann"}}});
  EXPECT_FALSE(other.statuses[0].overridden);
  EXPECT_EQ(other.statuses[0].limit_remaining, 2u);
  // Counted under the rule's key.
  EXPECT_THAT(Metrics(), HasSubstr("keel_ratelimit_over_limit_total{rule=\"api.user\"} 1\n"));
}

TEST_F(LimiterTest, AnOverrideCanTightenDenyAllOrLift) {
  ASSERT_TRUE(limiter_->PutOverride(Override("zero", {Algorithm::kFixedWindow, Unit::kHour, 0, {}, {}})).ok());
  auto out = Ask({{{"user", "zero"}}});
  EXPECT_EQ(out.overall_code, ResponseCode::kOverLimit);
  EXPECT_EQ(out.statuses[0].duration_until_reset, std::chrono::hours(1));
  KeyOverride lift = Override("free", {});
  lift.unlimited = true;
  ASSERT_TRUE(limiter_->PutOverride(lift).ok());
  for (int i = 0; i < 10; ++i) {
    out = Ask({{{"user", "free"}}});
    ASSERT_EQ(out.overall_code, ResponseCode::kOk);
    EXPECT_EQ(out.statuses[0].limit_remaining, std::numeric_limits<std::uint32_t>::max());
  }
}

TEST_F(LimiterTest, AnOverrideExpiresOnTheLimitersClock) {
  KeyOverride o = Override("temp", {Algorithm::kTokenBucket, Unit::kSecond, 1, {}, {}});
  o.expires_at = clock_.Now() + seconds(30);
  ASSERT_TRUE(limiter_->PutOverride(o).ok());
  EXPECT_TRUE(Ask({{{"user", "temp"}}}).statuses[0].overridden);
  EXPECT_EQ(Ask({{{"user", "temp"}}}).overall_code, ResponseCode::kOverLimit);
  ASSERT_EQ(limiter_->Overrides().size(), 1u);
  clock_.Advance(seconds(30));
  EXPECT_TRUE(limiter_->Overrides().empty());
  EXPECT_FALSE(limiter_->FindOverride("api", std::vector<DescriptorEntry>{{"user", "temp"}}));
  auto out = Ask({{{"user", "temp"}}});
  EXPECT_FALSE(out.statuses[0].overridden);
  EXPECT_EQ(out.statuses[0].limit_remaining, 2u);  // the rule's 3 per minute
  o.expires_at = clock_.Now();
  EXPECT_EQ(limiter_->PutOverride(o).code(), StatusCode::kInvalidArgument);
}

TEST_F(LimiterTest, PutReplacesDeleteRemovesAndTheyValidate) {
  ASSERT_TRUE(limiter_->PutOverride(Override("r", {Algorithm::kFixedWindow, Unit::kMinute, 1, {}, {}})).ok());
  ASSERT_TRUE(limiter_->PutOverride(Override("r", {Algorithm::kFixedWindow, Unit::kMinute, 7, {}, {}})).ok());
  auto all = limiter_->Overrides();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].limit.requests_per_unit, 7u);
  std::vector<DescriptorEntry> e = {{"user", "r"}};
  ASSERT_TRUE(limiter_->DeleteOverride("api", e).ok());
  EXPECT_EQ(limiter_->DeleteOverride("api", e).code(), StatusCode::kNotFound);
  EXPECT_FALSE(Ask({{{"user", "r"}}}).statuses[0].overridden);

  KeyOverride no_rule = Override("x", {Algorithm::kFixedWindow, Unit::kMinute, 1, {}, {}});
  no_rule.entries = {{"nope", "x"}};
  EXPECT_EQ(limiter_->PutOverride(no_rule).code(), StatusCode::kNotFound);
  KeyOverride bad_burst = Override("x", {Algorithm::kFixedWindow, Unit::kMinute, 1, 5, {}});
  EXPECT_THAT(limiter_->PutOverride(bad_burst).message(), HasSubstr("limit: "));
  KeyOverride no_domain = Override("x", {Algorithm::kFixedWindow, Unit::kMinute, 1, {}, {}});
  no_domain.domain.clear();
  EXPECT_EQ(limiter_->PutOverride(no_domain).code(), StatusCode::kInvalidArgument);
  KeyOverride empty_key = Override("x", {Algorithm::kFixedWindow, Unit::kMinute, 1, {}, {}});
  empty_key.entries[0].key.clear();
  EXPECT_EQ(limiter_->PutOverride(empty_key).code(), StatusCode::kInvalidArgument);
}

TEST_F(LimiterTest, OverridesSurviveAReloadAndResetRefundsThem) {
  ASSERT_TRUE(limiter_->PutOverride(Override("keep", {Algorithm::kFixedWindow, Unit::kMinute, 2, {}, {}})).ok());
  Ask({{{"user", "keep"}}}, 2);
  auto cfg = RuleConfig::Parse(kRules, "reloaded.yaml");
  ASSERT_TRUE(cfg.ok());
  limiter_->SetConfig(*cfg);
  EXPECT_EQ(Ask({{{"user", "keep"}}}).overall_code, ResponseCode::kOverLimit);
  std::vector<DescriptorEntry> e = {{"user", "keep"}};
  ASSERT_TRUE(limiter_->Reset("api", e).ok());
  RateLimitOutput out;
  ASSERT_TRUE(limiter_->Inspect("api", e, &out).ok());
  EXPECT_TRUE(out.statuses[0].overridden);
  EXPECT_EQ(out.statuses[0].limit_remaining, 2u);
}

TEST_F(LimiterTest, ARequestsOwnLimitBeatsAnOverride) {
  ASSERT_TRUE(limiter_->PutOverride(Override("own", {Algorithm::kFixedWindow, Unit::kMinute, 0, {}, {}})).ok());
  RateLimitInput in;
  in.domain = "api";
  in.descriptors.push_back({{{"user", "own"}}, LimitOverride{5, Unit::kHour}, std::nullopt});
  RateLimitOutput out;
  ASSERT_TRUE(limiter_->Decide(in, &out).ok());
  EXPECT_EQ(out.overall_code, ResponseCode::kOk);
  EXPECT_EQ(out.statuses[0].override_limit.requests_per_unit, 5u);
}

TEST_F(LimiterTest, OverrideWritesRaceDecisionsSafely) {
  const LimitSpec spec{Algorithm::kTokenBucket, Unit::kSecond, 1000000, {}, {}};
  std::atomic<bool> stop{false};
  std::atomic<int> overridden{0}, by_rule{0}, wrong{0};
  auto decide = [&] {
    RateLimitInput in;
    in.domain = "api";
    in.descriptors.push_back({{{"user", "race"}}, std::nullopt, std::nullopt});
    RateLimitOutput out;
    for (int i = 0; i < 3000; ++i) {
      if (!limiter_->Decide(in, &out).ok()) ++wrong;
      const DescriptorOutput& d = out.statuses[0];
      if (d.overridden) {
        ++overridden;
        if (d.override_limit.requests_per_unit != 1000000) ++wrong;
      } else {
        ++by_rule;
        if (!d.current_limit || d.current_limit->spec.requests_per_unit != 3) ++wrong;
      }
    }
  };
  std::thread writer([&] {
    auto cfg = RuleConfig::Parse(kRules, "again.yaml");
    for (int i = 0; !stop.load(); ++i) {
      if (i % 2 == 0) {
        EXPECT_TRUE(limiter_->PutOverride(Override("race", spec)).ok());
      } else {
        EXPECT_TRUE(limiter_->DeleteOverride("api", std::vector<DescriptorEntry>{{"user", "race"}}).ok());
      }
      if (i % 16 == 0) limiter_->SetConfig(*cfg);
      (void)limiter_->Overrides();
    }
  });
  std::thread a(decide), b(decide);
  a.join();
  b.join();
  stop = true;
  writer.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(overridden.load() + by_rule.load(), 6000);
}

TEST_F(LimiterTest, AtMostMaxOverridesButReplacingIsAlwaysPossible) {
  LimiterOptions opts;
  opts.max_overrides = 2;
  obs::Registry registry;
  auto limiter = Limiter::Create(limiter_->config(), opts, clock_, registry);
  ASSERT_TRUE(limiter.ok());
  const LimitSpec spec{Algorithm::kFixedWindow, Unit::kMinute, 1, {}, {}};
  ASSERT_TRUE((*limiter)->PutOverride(Override("a", spec)).ok());
  KeyOverride b = Override("b", spec);
  b.expires_at = clock_.Now() + seconds(1);
  ASSERT_TRUE((*limiter)->PutOverride(b).ok());
  EXPECT_EQ((*limiter)->PutOverride(Override("c", spec)).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE((*limiter)->PutOverride(Override("a", spec)).ok());
  EXPECT_THAT(registry.Render(obs::ExpositionFormat::kPrometheusText), HasSubstr("keel_ratelimit_overrides 2\n"));
  clock_.Advance(seconds(1));  // b expired: its place is free
  EXPECT_TRUE((*limiter)->PutOverride(Override("c", spec)).ok());
}

}  // namespace
}  // namespace keel::ratelimit
