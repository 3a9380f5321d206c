#include "keel/ratelimit/rule_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace keel::ratelimit {
namespace {

using ::testing::HasSubstr;

// envoyproxy/ratelimit's README example, unchanged, plus Keel's extensions.
constexpr const char* kConfig = R"(
domain: mongo_cps
descriptors:
  - key: database
    value: users
    rate_limit:
      unit: second
      requests_per_unit: 500
  - key: database
    value: default
    rate_limit:
      unit: second
      requests_per_unit: 500
  - key: remote_address
    rate_limit:
      unit: second
      requests_per_unit: 10
      algorithm: token_bucket
      burst: 20
  - key: path
    value: /login
    rate_limits:
      - {unit: second, requests_per_unit: 5, algorithm: sliding_window}
      - {unit: day, requests_per_unit: 10000, name: login_daily}
    shadow_mode: true
  - key: tenant
    value: "gold*"
    descriptors:
      - key: user
        rate_limit: {unit: minute, requests_per_unit: 100, algorithm: gcra}
        detailed_metric: true
  - key: internal
    rate_limit: {unlimited: true, name: internal, replaces: [{name: login_daily}]}
  - key: client
    value: mobile
    descriptors:
      - key: plan
        rate_limit: {unit: week, requests_per_unit: 7}
---
domain: other
fail_mode: closed
descriptors:
  - {key: k, rate_limit: {unit: HOUR, requests_per_unit: 1, algorithm: concurrency}}
)";

const Rule* Find(const std::shared_ptr<const RuleConfig>& cfg, std::string_view domain,
                 std::vector<DescriptorEntry> entries) {
  return cfg->Match(domain, entries);
}

std::shared_ptr<const RuleConfig> Must(const std::string& yaml) {
  auto cfg = RuleConfig::Parse(yaml, "test.yaml");
  EXPECT_TRUE(cfg.ok()) << cfg.status().message();
  return cfg.ok() ? *cfg : nullptr;
}

TEST(RuleConfigTest, ParsesEnvoyFormatAndExtensions) {
  auto cfg = Must(kConfig);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->domains(), (std::vector<std::string>{"mongo_cps", "other"}));
  EXPECT_EQ(cfg->fail_mode(), FailMode::kClosed);
  EXPECT_EQ(cfg->rule_count(), 8u);
  const Rule* r = Find(cfg, "mongo_cps", {{"remote_address", "10.0.0.1"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->full_key, "mongo_cps.remote_address");
  ASSERT_EQ(r->limits.size(), 1u);
  EXPECT_EQ(r->limits[0].spec.algorithm, Algorithm::kTokenBucket);
  EXPECT_EQ(r->limits[0].spec.burst, 20u);
  ASSERT_TRUE(r->limits[0].limit.has_value());
  EXPECT_EQ(r->limits[0].limit->capacity(), 20u);
  EXPECT_EQ(r->limits[0].spec.unit, Unit::kSecond);
}

TEST(RuleConfigTest, KeyValueBeatsTheBareKey) {
  auto cfg = Must(kConfig);
  const Rule* users = Find(cfg, "mongo_cps", {{"database", "users"}});
  ASSERT_TRUE(users);
  EXPECT_EQ(users->full_key, "mongo_cps.database_users");
  EXPECT_EQ(Find(cfg, "mongo_cps", {{"database", "orders"}}), nullptr);  // no bare-key rule
}

TEST(RuleConfigTest, SeveralLimitsAndShadowMode) {
  auto cfg = Must(kConfig);
  const Rule* r = Find(cfg, "mongo_cps", {{"path", "/login"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->limits.size(), 2u);
  EXPECT_EQ(r->limits[0].spec.algorithm, Algorithm::kSlidingWindow);
  EXPECT_EQ(r->limits[1].spec.unit, Unit::kDay);
  EXPECT_EQ(r->limits[1].name, "login_daily");
  EXPECT_EQ(r->limits[1].spec.algorithm, Algorithm::kFixedWindow);  // the default
  EXPECT_TRUE(r->shadow_mode);
}

TEST(RuleConfigTest, WildcardPrefixAndNesting) {
  auto cfg = Must(kConfig);
  const Rule* r = Find(cfg, "mongo_cps", {{"tenant", "gold-42"}, {"user", "ann"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->full_key, "mongo_cps.tenant_gold*.user");
  EXPECT_TRUE(r->detailed_metric);
  EXPECT_EQ(r->limits[0].spec.algorithm, Algorithm::kGcra);
  EXPECT_EQ(Find(cfg, "mongo_cps", {{"tenant", "silver"}, {"user", "ann"}}), nullptr);
  // The limit sits one level down: a descriptor stopping above it gets none.
  EXPECT_EQ(Find(cfg, "mongo_cps", {{"tenant", "gold-42"}}), nullptr);
  EXPECT_EQ(Find(cfg, "mongo_cps", {{"client", "mobile"}, {"plan", "free"}})->limits[0].spec.unit, Unit::kWeek);
}

TEST(RuleConfigTest, DeeperRequestThanConfigGetsNoLimit) {
  // envoyproxy/ratelimit: the last entry must land on the rule.
  auto cfg = Must(kConfig);
  EXPECT_EQ(Find(cfg, "mongo_cps", {{"remote_address", "10.0.0.1"}, {"path", "/x"}}), nullptr);
}

TEST(RuleConfigTest, UnlimitedAndReplaces) {
  auto cfg = Must(kConfig);
  const Rule* r = Find(cfg, "mongo_cps", {{"internal", "yes"}});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->unlimited);
  EXPECT_TRUE(r->limits.empty());
  EXPECT_EQ(r->replaces, std::vector<std::string>{"login_daily"});
}

TEST(RuleConfigTest, UnknownDomainOrEmptyDescriptorGetsNoLimit) {
  auto cfg = Must(kConfig);
  EXPECT_EQ(Find(cfg, "nope", {{"database", "users"}}), nullptr);
  EXPECT_EQ(Find(cfg, "mongo_cps", {}), nullptr);
}

TEST(RuleConfigTest, UnitsAreCaseInsensitiveAndHaveLengths) {
  auto cfg = Must(kConfig);
  const Rule* r = Find(cfg, "other", {{"k", "v"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limits[0].spec.unit, Unit::kHour);
  EXPECT_EQ(r->limits[0].spec.algorithm, Algorithm::kConcurrency);
  EXPECT_EQ(UnitDuration(Unit::kWeek), std::chrono::hours(24 * 7));
}

TEST(RuleConfigTest, ErrorsNameThePath) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"descriptors: []\n", "test.yaml: domain: config file cannot have empty domain"},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {unit: secs, requests_per_unit: 1}}\n",
       "test.yaml: descriptors[0].rate_limit.unit: unknown rate limit unit \"secs\""},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {unit: second}}\n",
       "descriptors[0].rate_limit.requests_per_unit: required"},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {unit: second, requests_per_unit: -1}}\n",
       "descriptors[0].rate_limit.requests_per_unit: expected a whole number"},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {unit: second, requests_per_unit: 1, algorithm: leaky}}\n",
       "descriptors[0].rate_limit.algorithm: unknown rate limit algorithm \"leaky\""},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {unit: second, requests_per_unit: 10, algorithm: token_bucket, burst: 0}}\n",
       "descriptors[0].rate_limit: rate limit: token_bucket burst (capacity) must be at least 1"},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {unit: second, requests_per_unit: 0, algorithm: gcra, burst: 3}}\n",
       "descriptors[0].rate_limit.burst: has no meaning with requests_per_unit 0"},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {unit: second, requests_per_unit: 10, burst: 50}}\n",
       "descriptors[0].rate_limit: rate limit: burst applies to token_bucket and gcra, not fixed_window"},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {unit: second, requests_per_unit: 1, unlimited: true}}\n",
       "descriptors[0].rate_limit.unit: should not be given with unlimited"},
      {"domain: d\ndescriptors:\n  - {key: a}\n  - {key: a}\n", "descriptors[1]: duplicate descriptor composite key 'd.a'"},
      {"domain: d\ndescriptors:\n  - {key: ''}\n", "descriptors[0].key: descriptor has empty key"},
      {"domain: d\ndescriptors:\n  - {key: a, rate_lmit: {}}\n", "descriptors[0].rate_lmit: unknown key"},
      {"domain: d\ndescriptors:\n  - {key: a, rate_limit: {name: x, unit: second, requests_per_unit: 1, replaces: [{name: x}]}}\n",
       "a limit cannot replace itself"},
      {"domain: d\ndescriptors:\n  - {key: a, shadow_mode: true}\n", "need a rate_limit on the same descriptor"},
      {"domain: d\n---\ndomain: d\n", "document 2.domain: duplicate domain 'd'"},
      {"domain: d\nfail_mode: sometimes\n", "fail_mode: must be open, closed or local"},
      {"domain: [d\n", "test.yaml: YAML:"},
      {"", "test.yaml: no domain defined"},
  };
  for (const Case& c : cases) {
    auto cfg = RuleConfig::Parse(c.yaml, "test.yaml");
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    EXPECT_THAT(cfg.status().message(), HasSubstr(c.want)) << c.yaml;
  }
}

// Found by ratelimit_rules_fuzz (the reproducers are in
// fuzz/corpus/ratelimit_rules/): files that crashed or hung the parser, which
// also runs on every reload of a live server.
TEST(RuleConfigTest, RejectsAnAliasToAnEnclosingDescriptorList) {
  // Was: infinite recursion, stack overflow.
  auto cfg = RuleConfig::Parse("domain: d\ndescriptors: &a\n  - {key: x, descriptors: *a}\n", "test.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr("test.yaml: descriptors[0].descriptors[0].descriptors"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("nested more than 64 levels deep"));
}

TEST(RuleConfigTest, RejectsAliasesThatExpandExponentially) {
  // 2^40 descriptors in 3 KB ("billion laughs"). Was: hours of work and all
  // memory; now: an error after at most ~100000 nodes.
  std::string yaml = "http:\n  l0: &l0 [{key: a, rate_limit: {unit: second, requests_per_unit: 1}}, {key: b}]\n";
  for (int i = 1; i <= 40; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    yaml += "  l" + std::to_string(i) + ": &l" + std::to_string(i) + " [{key: a, descriptors: " + prev +
            "}, {key: b, descriptors: " + prev + "}]\n";
  }
  yaml += "domain: d\ndescriptors: *l40\n";
  auto cfg = RuleConfig::Parse(yaml, "test.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr("too large with its aliases expanded (more than 100000"));
}

TEST(RuleConfigTest, AliasesForSharedLimitsStillWork) {
  auto cfg = Must(R"(
domain: d
descriptors:
  - {key: a, rate_limit: &std {unit: second, requests_per_unit: 3}}
  - {key: b, rate_limit: *std, descriptors: &inner [{key: c, rate_limit: *std}]}
  - {key: e, descriptors: *inner}
)");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->rule_count(), 4u);
  ASSERT_TRUE(Find(cfg, "d", {{"e", "1"}, {"c", "2"}}));
  EXPECT_EQ(Find(cfg, "d", {{"e", "1"}, {"c", "2"}})->full_key, "d.e.c");
}

TEST(RuleConfigTest, NestsDescriptorsUpTo64LevelsDeep) {
  auto nested = [](int levels) {
    std::string yaml = "domain: d\ndescriptors: ";
    for (int i = 0; i < levels; ++i) yaml += "[{key: k, descriptors: ";
    yaml += "[{key: last, rate_limit: {unit: second, requests_per_unit: 1}}]";
    for (int i = 0; i < levels; ++i) yaml += "}]";
    return yaml + "\n";
  };
  auto cfg = Must(nested(63));
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->rule_count(), 1u);
  auto too_deep = RuleConfig::Parse(nested(64), "test.yaml");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_THAT(too_deep.status().message(), HasSubstr("nested more than 64 levels deep"));
}

TEST(RuleConfigTest, RejectsAStrayCommaThatHangsYamlCpp) {
  // yaml-cpp 0.7's LoadAll looped forever on these, allocating until
  // std::bad_alloc (jbeder/yaml-cpp#1040). Found by ratelimit_rules_fuzz
  // as ",de\xffn: d\n".
  for (const char* yaml : {",", ",a: d\n", "domain: d\n---\n,\n", ",de\xffn: d\n"}) {
    auto cfg = RuleConfig::Parse(yaml, "test.yaml");
    ASSERT_FALSE(cfg.ok()) << yaml;
    EXPECT_THAT(cfg.status().message(), HasSubstr("test.yaml: YAML: error at line ")) << yaml;
  }
  auto cfg = RuleConfig::Parse("domain: d\n---\n,\n", "test.yaml");
  EXPECT_EQ(cfg.status().message(), "test.yaml: YAML: error at line 3, column 1: unexpected ','");
  // Empty documents still parse.
  EXPECT_TRUE(Must("---\n---\ndomain: d\n---\n...\n"));
}

TEST(RuleConfigTest, RejectsYamlNestedTooDeeplyForTheParser) {
  // yaml-cpp stops at its own depth limit (its message was "bad file").
  for (const std::string& yaml : {std::string(100000, '['), std::string(20000, '{') + "a: 1",
                                  "domain: d\nhttp: " + std::string(3000, '[') + std::string(3000, ']') + "\n"}) {
    auto cfg = RuleConfig::Parse(yaml, "test.yaml");
    ASSERT_FALSE(cfg.ok());
    EXPECT_THAT(cfg.status().message(), HasSubstr("test.yaml: YAML: nested too deeply near line "));
  }
}

TEST(RuleConfigTest, ZeroRequestsPerUnitDeniesEverythingAndHasNoLimit) {
  auto cfg = Must("domain: d\ndescriptors:\n  - {key: blocked, rate_limit: {unit: second, requests_per_unit: 0}}\n");
  const Rule* r = Find(cfg, "d", {{"blocked", "x"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->limits.size(), 1u);
  EXPECT_EQ(r->limits[0].spec.requests_per_unit, 0u);
  EXPECT_FALSE(r->limits[0].limit.has_value());
}

TEST(RuleConfigTest, SkipsKeelSectionsSharingTheFile) {
  auto cfg = Must("http: {listen: 127.0.0.1:0}\nratelimit: {max_keys: 10}\ndomain: d\n"
                  "descriptors:\n  - {key: a, rate_limit: {unit: second, requests_per_unit: 1}}\n");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->rule_count(), 1u);
}

TEST(RuleConfigTest, KeepsTheTextForTheAdminApi) {
  auto cfg = Must(kConfig);
  EXPECT_EQ(cfg->text(), kConfig);
}

}  // namespace
}  // namespace keel::ratelimit
