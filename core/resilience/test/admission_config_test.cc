#include "keel/resilience/admission_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace keel::resilience {
namespace {

using ::testing::HasSubstr;

StatusOr<config::Config> Load(std::vector<config::Override> overrides) {
  config::Schema schema;
  AddAdmissionKeys(schema, "http.admission");
  return config::Config::Load(schema, {.overrides = std::move(overrides)});
}

TEST(AdmissionConfigTest, DefaultsAreOffWithDocumentedValues) {
  auto cfg = Load({});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  const AdmissionOptions o = AdmissionOptionsFromConfig(*cfg, "http.admission");
  EXPECT_FALSE(o.enabled);
  EXPECT_EQ(o.shedder.fixed_limit, 100);
  EXPECT_EQ(o.shedder.initial_limit, 20);
  EXPECT_EQ(o.shedder.min_limit, 1);
  EXPECT_EQ(o.shedder.max_limit, 1000);
  EXPECT_DOUBLE_EQ(o.shedder.share_low, 0.5);
  EXPECT_DOUBLE_EQ(o.shedder.share_normal, 0.9);
  EXPECT_EQ(o.shedder.aimd.timeout, std::chrono::seconds(5));
}

TEST(AdmissionConfigTest, ReadsEveryKind) {
  const std::pair<const char*, LimitKind> kinds[] = {
      {"fixed", LimitKind::kFixed}, {"aimd", LimitKind::kAimd}, {"gradient", LimitKind::kGradient}};
  for (const auto& [text, kind] : kinds) {
    auto cfg = Load({{"http.admission.limit", text, "test"},
                     {"http.admission.max_limit", "64", "test"},
                     {"http.admission.share.low", "0.25", "test"},
                     {"http.admission.timeout", "250ms", "test"}});
    ASSERT_TRUE(cfg.ok()) << cfg.status().message();
    const AdmissionOptions o = AdmissionOptionsFromConfig(*cfg, "http.admission");
    EXPECT_TRUE(o.enabled);
    EXPECT_EQ(o.shedder.kind, kind);
    EXPECT_EQ(o.shedder.max_limit, 64);
    EXPECT_DOUBLE_EQ(o.shedder.share_low, 0.25);
    EXPECT_EQ(o.shedder.aimd.timeout, std::chrono::milliseconds(250));
  }
}

TEST(AdmissionConfigTest, RejectsBadValues) {
  struct Case {
    const char* key;
    const char* value;
  };
  const Case cases[] = {
      {"http.admission.limit", "vegas"},           {"http.admission.fixed_limit", "0"},
      {"http.admission.min_limit", "-1"},          {"http.admission.max_limit", "many"},
      {"http.admission.share.low", "1.5"},         {"http.admission.share.normal", "-0.1"},
      {"http.admission.share.low", "nan"},         {"http.admission.timeout", "0ms"},
      {"http.admission.initial_limit", "2000000"},
  };
  for (const Case& c : cases) {
    auto cfg = Load({{c.key, c.value, "test"}});
    ASSERT_FALSE(cfg.ok()) << c.key << "=" << c.value;
    EXPECT_THAT(cfg.status().message(), HasSubstr(c.key));
  }
}

TEST(AdmissionConfigTest, InconsistentLimitsAreReportedByCreate) {
  auto cfg = Load(
      {{"http.admission.limit", "gradient", "test"}, {"http.admission.min_limit", "50", "test"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  AdmissionOptions o = AdmissionOptionsFromConfig(*cfg, "http.admission");
  ManualClock clock;
  obs::Registry registry;
  auto shedder = LoadShedder::Create(o.shedder, clock, registry);
  ASSERT_FALSE(shedder.ok());
  EXPECT_THAT(shedder.status().message(), HasSubstr("min_limit <= initial_limit"));
}

}  // namespace
}  // namespace keel::resilience
