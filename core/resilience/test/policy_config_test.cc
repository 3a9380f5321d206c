#include "keel/resilience/policy_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

namespace keel::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

StatusOr<config::Config> Load(const std::string& yaml) {
  config::Schema schema;
  AddPolicyKeys(schema, "up.users");
  config::LoadOptions lo;
  if (!yaml.empty()) {
    // One file per test and process: ctest runs these tests in parallel.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    lo.file = ::testing::TempDir() + "policy_config_test_" + info->name() + "_" +
              std::to_string(::getpid()) + ".yaml";
    std::ofstream(lo.file) << yaml;
  }
  auto cfg = config::Config::Load(schema, lo);
  if (!lo.file.empty()) std::remove(lo.file.c_str());
  return cfg;
}

TEST(PolicyConfig, DefaultsAreTheCurriculums) {
  auto cfg = Load("");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  PipelineOptions o = PipelineOptionsFromConfig(*cfg, "up.users");
  EXPECT_TRUE(o.breaker_enabled);
  EXPECT_EQ(o.breaker.window_type, WindowType::kCount);
  EXPECT_EQ(o.breaker.window_size, 100);
  EXPECT_EQ(o.breaker.minimum_calls, 50);
  EXPECT_EQ(o.breaker.failure_rate_threshold, 50);
  EXPECT_EQ(o.breaker.slow_call_rate_threshold, 100);
  EXPECT_EQ(o.breaker.slow_call_duration, seconds(60));
  EXPECT_EQ(o.breaker.wait_in_open, seconds(10));
  EXPECT_EQ(o.breaker.half_open_calls, 10);
  EXPECT_EQ(o.breaker.max_wait_in_half_open, Clock::duration::zero());
  EXPECT_EQ(o.retry.max_attempts, 3);
  EXPECT_EQ(o.retry.base, milliseconds(50));
  EXPECT_EQ(o.retry.cap, seconds(2));
  EXPECT_EQ(o.retry.budget_ratio, 0.1);
  EXPECT_EQ(o.retry.min_retries_per_second, 1);
  EXPECT_EQ(o.retry.budget_window, seconds(10));
  EXPECT_EQ(o.bulkhead.max_concurrent, 0);
  EXPECT_EQ(o.bulkhead.max_queue, -1);
  EXPECT_EQ(o.per_try_timeout, seconds(1));
  EXPECT_EQ(o.total_timeout, seconds(2));
  EXPECT_FALSE(o.hedge.enabled);
  EXPECT_EQ(o.hedge.percentile, 95);
  // The struct defaults and the config defaults agree.
  PipelineOptions d;
  EXPECT_EQ(d.breaker.window_size, o.breaker.window_size);
  EXPECT_EQ(d.retry.base, o.retry.base);
  EXPECT_EQ(d.bulkhead.max_queue, o.bulkhead.max_queue);
}

TEST(PolicyConfig, YamlFileOverrides) {
  auto cfg = Load(
      "up:\n  users:\n    breaker: {window_type: time, window_size: 30, failure_rate_threshold: "
      "25.5}\n    retry: {max_attempts: 5, base: 10ms}\n    timeout: {per_try: 250ms, total: 2s}\n"
      "    hedge: {enabled: true, percentile: 99}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  PipelineOptions o = PipelineOptionsFromConfig(*cfg, "up.users");
  EXPECT_EQ(o.breaker.window_type, WindowType::kTime);
  EXPECT_EQ(o.breaker.window_size, 30);
  EXPECT_EQ(o.breaker.failure_rate_threshold, 25.5);
  EXPECT_EQ(o.retry.max_attempts, 5);
  EXPECT_EQ(o.retry.base, milliseconds(10));
  EXPECT_EQ(o.per_try_timeout, milliseconds(250));
  EXPECT_EQ(o.total_timeout, seconds(2));
  EXPECT_TRUE(o.hedge.enabled);
  EXPECT_EQ(o.hedge.percentile, 99);
}

TEST(PolicyConfig, BadValuesAreNamed) {
  struct Case {
    const char* yaml;
    const char* key;
  } cases[] = {
      {"up: {users: {breaker: {failure_rate_threshold: 150}}}", "up.users.breaker.failure_rate_threshold"},
      {"up: {users: {breaker: {window_type: sliding}}}", "up.users.breaker.window_type"},
      {"up: {users: {retry: {max_attempts: 0}}}", "up.users.retry.max_attempts"},
      {"up: {users: {retry: {base: soon}}}", "up.users.retry.base"},
  };
  for (const Case& c : cases) {
    auto cfg = Load(c.yaml);
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    EXPECT_NE(cfg.status().message().find(c.key), std::string::npos) << cfg.status().message();
  }
}

}  // namespace
}  // namespace keel::resilience
