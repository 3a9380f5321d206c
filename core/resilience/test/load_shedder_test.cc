#include "keel/resilience/load_shedder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace keel::resilience {
namespace {

template <typename T>
T Must(StatusOr<T> s) {
  EXPECT_TRUE(s.ok()) << s.status().message();
  return std::move(s).value();
}

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

std::unique_ptr<LoadShedder> MakeFixed(int limit, const Clock& clock, obs::Registry& registry) {
  auto s = LoadShedder::Create({.name = "api", .kind = LimitKind::kFixed, .fixed_limit = limit},
                               clock, registry);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return std::move(*s);
}

TEST(ParsePriorityTest, ReadsHeaderValues) {
  struct Case {
    const char* value;
    Priority want;
  };
  const Case cases[] = {
      {"critical", Priority::kCritical},   {"CRITICAL", Priority::kCritical},
      {" low ", Priority::kLow},           {"Low", Priority::kLow},
      {"normal", Priority::kNormal},       {"", Priority::kNormal},
      {"urgent", Priority::kNormal},       {"lowest", Priority::kNormal},
      {"critical,low", Priority::kNormal},
  };
  for (const Case& c : cases) EXPECT_EQ(ParsePriority(c.value), c.want) << "'" << c.value << "'";
}

TEST(LoadShedderTest, RejectsLowBeforeNormalBeforeCriticalWhenSaturated) {
  ManualClock clock;
  obs::Registry registry;
  auto shedder = MakeFixed(20, clock, registry);
  std::vector<AdaptiveLimiter::Token> held;
  // Fill with normal work up to its share (0.9 x 20 = 18).
  while (auto t = shedder->TryAdmit(Priority::kNormal)) held.push_back(std::move(*t));
  EXPECT_EQ(held.size(), 18u);
  EXPECT_FALSE(shedder->TryAdmit(Priority::kLow).has_value());
  EXPECT_FALSE(shedder->TryAdmit(Priority::kNormal).has_value());
  auto c1 = shedder->TryAdmit(Priority::kCritical);
  auto c2 = shedder->TryAdmit(Priority::kCritical);
  EXPECT_TRUE(c1 && c2);
  EXPECT_FALSE(shedder->TryAdmit(Priority::kCritical).has_value());
  // Draining below half the limit admits low again.
  while (held.size() > 7) held.pop_back();
  EXPECT_EQ(shedder->inflight(), 9);
  EXPECT_TRUE(shedder->TryAdmit(Priority::kLow).has_value());
}

TEST(LoadShedderTest, ExportsMetrics) {
  ManualClock clock;
  obs::Registry registry;
  auto shedder = MakeFixed(2, clock, registry);
  auto a = shedder->TryAdmit(Priority::kCritical);
  auto b = shedder->TryAdmit(Priority::kCritical);
  EXPECT_FALSE(shedder->TryAdmit(Priority::kLow).has_value());
  EXPECT_FALSE(shedder->TryAdmit(Priority::kLow).has_value());
  EXPECT_FALSE(shedder->TryAdmit(Priority::kNormal).has_value());
  auto& requests =
      registry.AddCounter("keel_concurrency_requests_total", "", {"name", "priority", "outcome"});
  auto& rejected = registry.AddCounter("keel_concurrency_rejected_total", "", {"name", "priority"});
  auto& limit = registry.AddGauge("keel_concurrency_limit", "", {"name"});
  auto& inflight = registry.AddGauge("keel_concurrency_inflight", "", {"name"});
  EXPECT_EQ(requests.Get({"api", "critical", "admitted"})->Value(), 2u);
  EXPECT_EQ(requests.Get({"api", "low", "rejected"})->Value(), 2u);
  EXPECT_EQ(requests.Get({"api", "normal", "rejected"})->Value(), 1u);
  EXPECT_EQ(requests.Get({"api", "normal", "admitted"})->Value(), 0u);
  EXPECT_EQ(rejected.Get({"api", "low"})->Value(), 2u);
  EXPECT_EQ(rejected.Get({"api", "critical"})->Value(), 0u);
  EXPECT_EQ(limit.Get({"api"})->Value(), 2);
  EXPECT_EQ(inflight.Get({"api"})->Value(), 2);
  a->OnSuccess();
  EXPECT_EQ(inflight.Get({"api"})->Value(), 1);
  const std::string text = registry.Render(obs::ExpositionFormat::kPrometheusText);
  EXPECT_THAT(text, HasSubstr("keel_concurrency_rejected_total{name=\"api\",priority=\"low\"} 2"));
}

TEST(LoadShedderTest, AdaptiveLimitIsExported) {
  ManualClock clock;
  obs::Registry registry;
  auto shedder = Must(LoadShedder::Create(
      {.name = "aimd", .kind = LimitKind::kAimd, .initial_limit = 4}, clock, registry));
  auto& limit = registry.AddGauge("keel_concurrency_limit", "", {"name"});
  EXPECT_EQ(limit.Get({"aimd"})->Value(), 4);
  auto a = shedder->TryAdmit(Priority::kNormal);
  auto b = shedder->TryAdmit(Priority::kNormal);
  a->OnSuccess();  // admitted at inflight 1 of 4: below half, no change
  b->OnSuccess();  // admitted at inflight 2 of 4: +1
  EXPECT_EQ(shedder->limit(), 5);
  EXPECT_EQ(limit.Get({"aimd"})->Value(), 5);
}

TEST(LoadShedderTest, RetryAfterIsAtLeastOneSecondAndTwiceTheRttRoundedUp) {
  ManualClock clock;
  obs::Registry registry;
  auto shedder = MakeFixed(10, clock, registry);
  EXPECT_EQ(shedder->RetryAfter(), seconds(1));  // no RTT yet
  auto t = shedder->TryAdmit(Priority::kNormal);
  clock.Advance(milliseconds(20));
  t->OnSuccess();
  EXPECT_EQ(shedder->RetryAfter(), seconds(1));
  t = shedder->TryAdmit(Priority::kNormal);
  clock.Advance(milliseconds(1500));
  t->OnSuccess();  // EMA 20 + (1500 - 20) / 10 = 168 ms
  EXPECT_EQ(shedder->RetryAfter(), seconds(1));
  for (int i = 0; i < 40; ++i) {
    t = shedder->TryAdmit(Priority::kNormal);
    clock.Advance(milliseconds(1500));
    t->OnSuccess();
  }
  // The EMA approaches 1.5 s: 2 x ~1.5 s = 3 s rounded up.
  EXPECT_EQ(shedder->RetryAfter(), seconds(3));
  EXPECT_EQ(RetryAfterSeconds(milliseconds(1001)), 2);
  EXPECT_EQ(RetryAfterSeconds(milliseconds(0)), 0);
}

TEST(LoadShedderTest, CreateValidatesOptions) {
  ManualClock clock;
  obs::Registry registry;
  struct Case {
    LoadShedderOptions options;
    const char* error;
  };
  const Case cases[] = {
      {{.name = ""}, "name"},
      {{.kind = LimitKind::kFixed, .fixed_limit = 0}, "fixed_limit"},
      {{.initial_limit = 5, .min_limit = 10}, "min_limit <= initial_limit"},
      {{.initial_limit = 50, .max_limit = 10}, "initial_limit <= max_limit"},
      {{.min_limit = 0}, "1 <= min_limit"},
      {{.share_low = 0}, "share"},
      {{.share_low = 0.95, .share_normal = 0.9}, "share.low <= share.normal"},
      {{.share_normal = 1.5}, "share"},
      {{.kind = LimitKind::kAimd, .aimd = {.backoff_ratio = 1.0}}, "backoff_ratio"},
      {{.gradient = {.tolerance = 0.5}}, "gradient"},
  };
  for (const Case& c : cases) {
    auto s = LoadShedder::Create(c.options, clock, registry);
    ASSERT_FALSE(s.ok()) << c.error;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(c.error));
  }
  EXPECT_TRUE(LoadShedder::Create({}, clock, registry).ok());
}

}  // namespace
}  // namespace keel::resilience
