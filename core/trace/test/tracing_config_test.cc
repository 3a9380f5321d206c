#include "keel/trace/tracing_config.h"

#include <gtest/gtest.h>

namespace keel::trace {
namespace {

StatusOr<config::Config> Load(std::vector<config::Override> overrides) {
  config::Schema schema;
  AddTracingKeys(schema);
  return config::Config::Load(schema, {.overrides = std::move(overrides)});
}

TEST(TracingConfigTest, Defaults) {
  auto cfg = Load({});
  ASSERT_TRUE(cfg.ok());
  TracerOptions o = TracerOptionsFromConfig(*cfg, "orders");
  EXPECT_EQ(o.service_name, "orders");
  EXPECT_DOUBLE_EQ(o.sample_ratio, 0.01);
  EXPECT_EQ(o.slow_threshold, std::chrono::milliseconds(500));
  ExporterOptions e = ExporterOptionsFromConfig(*cfg);
  EXPECT_EQ(e.max_queue, 2048u);
  EXPECT_EQ(e.batch_size, 512u);
  EXPECT_EQ(e.batch_delay, std::chrono::seconds(1));
}

TEST(TracingConfigTest, EmptyEndpointMeansNoTracer) {
  auto cfg = Load({});
  obs::Registry registry;
  auto t = TracerFromConfig(*cfg, "orders", registry);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, nullptr);
}

TEST(TracingConfigTest, BuildsTracerForEndpoint) {
  auto cfg = Load({{"tracing.otlp_endpoint", "http://127.0.0.1:4318", "test"},
                   {"tracing.service_name", "orders-eu", "test"}});
  ASSERT_TRUE(cfg.ok());
  obs::Registry registry;
  auto t = TracerFromConfig(*cfg, "orders", registry);
  ASSERT_TRUE(t.ok());
  ASSERT_NE(*t, nullptr);
  EXPECT_EQ((*t)->options().service_name, "orders-eu");
}

TEST(TracingConfigTest, RejectsHttpsAndOutOfRangeRatio) {
  auto cfg = Load({{"tracing.otlp_endpoint", "https://x:4318", "test"}});
  ASSERT_TRUE(cfg.ok());
  obs::Registry registry;
  EXPECT_FALSE(TracerFromConfig(*cfg, "orders", registry).ok());
  EXPECT_FALSE(Load({{"tracing.sample_ratio", "1.5", "test"}}).ok());
}

}  // namespace
}  // namespace keel::trace
