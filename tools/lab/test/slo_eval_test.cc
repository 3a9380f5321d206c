#include "keel/lab/slo_eval.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace keel::lab {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string WriteTemp(const std::string& text) {
  char name[] = "/tmp/keel-slo-eval-XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  FILE* f = fdopen(fd, "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return name;
}

// `n` seconds of `total` answers with `bad` errors and `slow` OK-but-slow ones.
LoadSeries Steady(const std::string& name, double offset, int n, std::uint64_t total, std::uint64_t bad,
                  std::uint64_t slow) {
  LoadSeries s;
  s.name = name;
  s.offset_s = offset;
  for (int i = 1; i <= n; ++i) {
    LoadSeries::Row r;
    r.t = i;
    r.ok = total - bad;
    r.errors = bad;
    r.within["le_50ms"] = total - bad - slow;
    s.rows.push_back(r);
  }
  return s;
}

Scenario WithSlos(std::vector<SloSpec> slos) {
  Scenario s;
  s.slos = std::move(slos);
  s.alerting.windows = {{seconds(10), seconds(2), 14.4, "page"}};
  s.alerting.min_events = 10;
  s.alerting.period = seconds(60);  // windows as written: no scaling
  s.alerting.scale_to = seconds(60);
  return s;
}

TEST(SloEvalTest, ReadsKeelLoadTimeseries) {
  const std::string path = WriteTemp(
      "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok,le_50ms\n"
      "1.000,100,100,2,1.0,2.0,3.0,true,98,90\n"
      "2.000,100,100,0,1.0,2.0,3.0,true,100,100\n");
  auto s = ReadTimeseries(path, "main", 0.25);
  std::remove(path.c_str());
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->rows.size(), 2u);
  EXPECT_EQ(s->rows[0].ok, 98u);
  EXPECT_EQ(s->rows[0].errors, 2u);
  EXPECT_EQ(s->rows[0].within.at("le_50ms"), 90u);
  EXPECT_DOUBLE_EQ(s->offset_s, 0.25);
}

TEST(SloEvalTest, OverLimitAnswersOfAnRlsLoadAreGood) {
  const std::string path = WriteTemp(
      "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok,over_limit,le_5ms\n"
      "1.000,100,100,1,1.0,2.0,3.0,true,79,20,99\n");
  auto s = ReadTimeseries(path, "rls", 0);
  std::remove(path.c_str());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->rows[0].ok, 99u);
  EXPECT_EQ(s->rows[0].errors, 1u);
}

TEST(SloEvalTest, MalformedTimeseriesNamesFileAndLine) {
  const std::string path = WriteTemp("t,ok,errors\n1,5,x\n");
  auto s = ReadTimeseries(path, "main", 0);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(path + ":2: bad ok or errors"));
  std::remove(path.c_str());
  const std::string old = WriteTemp("t,sent,completed,errors\n");
  s = ReadTimeseries(old, "main", 0);
  EXPECT_THAT(s.status().message(), HasSubstr("header lacks t, ok or errors"));
  std::remove(old.c_str());
}

TEST(SloEvalTest, AvailabilityCountsErrorsAgainstTheBudget) {
  // 1000/s for 30 s with 5 errors a second: 0.5 % bad against a 99 %
  // objective uses half the budget.
  const auto out = EvaluateSlos(WithSlos({{"availability", 0.99, std::nullopt, {}}}),
                                {Steady("main", 0, 30, 1000, 5, 0)}, seconds(30));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].total, 30'000u);
  EXPECT_EQ(out[0].good, 29'850u);
  EXPECT_NEAR(out[0].budget_consumed, 0.5, 1e-9);
  EXPECT_TRUE(out[0].passed);
  ASSERT_EQ(out[0].windows.size(), 1u);
  EXPECT_FALSE(out[0].windows[0].fired);
  EXPECT_NEAR(out[0].windows[0].max_long_burn, 0.5, 1e-9);
}

TEST(SloEvalTest, LatencySloCountsSlowAnswersAsBad) {
  // 2 % slow + 0.5 % errors against 99 %: 2.5x the budget, fails.
  const auto out = EvaluateSlos(WithSlos({{"fast", 0.99, milliseconds(50), {}}}),
                                {Steady("main", 0, 30, 1000, 5, 20)}, seconds(30));
  EXPECT_EQ(out[0].good, 30u * 975);
  EXPECT_NEAR(out[0].budget_consumed, 2.5, 1e-9);
  EXPECT_FALSE(out[0].passed);
}

TEST(SloEvalTest, OnlyTheNamedLoadsCount) {
  const auto out = EvaluateSlos(WithSlos({{"a", 0.99, std::nullopt, {"clean"}}}),
                                {Steady("clean", 0, 10, 100, 0, 0), Steady("broken", 0, 10, 100, 50, 0)},
                                seconds(10));
  EXPECT_EQ(out[0].total, 1000u);
  EXPECT_TRUE(out[0].passed);
}

TEST(SloEvalTest, BurstFiresThePageAtItsTimeOnTheScenarioAxis) {
  // A load started 5 s into the scenario; its seconds 11-15 fail 50 %.
  LoadSeries s = Steady("main", 5, 30, 1000, 0, 0);
  for (int i = 10; i < 15; ++i) {
    s.rows[static_cast<std::size_t>(i)].ok = 500;
    s.rows[static_cast<std::size_t>(i)].errors = 500;
  }
  const auto out = EvaluateSlos(WithSlos({{"availability", 0.99, std::nullopt, {}}}), {s}, seconds(35));
  ASSERT_TRUE(out[0].windows[0].fired);
  // First bad second ends at scenario t = 5 + 11 = 16: long burn 5, short 25;
  // at t = 17 the long window (10 s) burns 10, still < 14.4; at t = 18, 15.
  EXPECT_EQ(out[0].windows[0].first_fired, seconds(18));
  EXPECT_FALSE(out[0].passed);
}

TEST(SloEvalTest, ExcludedWindowsAreLeftOutOfTheSlo) {
  // Seconds 11-15 fail 50 %: the SLO fails with them and passes without.
  LoadSeries s = Steady("main", 0, 30, 1000, 0, 0);
  for (int i = 10; i < 15; ++i) {
    s.rows[static_cast<std::size_t>(i)].ok = 500;
    s.rows[static_cast<std::size_t>(i)].errors = 500;
  }
  SloSpec spec{"availability", 0.99, std::nullopt, {}};
  EXPECT_FALSE(EvaluateSlos(WithSlos({spec}), {s}, seconds(30))[0].passed);
  spec.exclude = {{seconds(10), seconds(15)}};
  const auto out = EvaluateSlos(WithSlos({spec}), {s}, seconds(30));
  EXPECT_EQ(out[0].total, 25u * 1000);
  EXPECT_EQ(out[0].good, 25u * 1000);
  EXPECT_TRUE(out[0].passed);
  // One second short of the bad window: its last second still counts.
  spec.exclude = {{seconds(10), seconds(14)}};
  EXPECT_EQ(EvaluateSlos(WithSlos({spec}), {s}, seconds(30))[0].good, 25u * 1000 + 500);
  const auto j = nlohmann::json::parse(SlosToJson(out));
  EXPECT_EQ(j[0]["exclude"], nlohmann::json::parse("[[10.0, 15.0]]"));
}

TEST(SloEvalTest, NoEventsDoesNotPass) {
  const auto out = EvaluateSlos(WithSlos({{"a", 0.99, std::nullopt, {}}}), {}, seconds(10));
  EXPECT_EQ(out[0].total, 0u);
  EXPECT_FALSE(out[0].passed);
  EXPECT_FALSE(out[0].windows[0].evaluated);
}

TEST(SloEvalTest, JsonCarriesTheReportFields) {
  const auto out = EvaluateSlos(WithSlos({{"fast", 0.99, milliseconds(50), {}}}),
                                {Steady("main", 0, 30, 1000, 5, 20)}, seconds(30));
  const auto j = nlohmann::json::parse(SlosToJson(out));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "fast");
  EXPECT_EQ(j[0]["kind"], "latency");
  EXPECT_EQ(j[0]["threshold_ms"], 50.0);
  EXPECT_EQ(j[0]["passed"], false);
  EXPECT_EQ(j[0]["windows"][0]["label"], "page (10s/2s x14.4)");
  EXPECT_EQ(j[0]["windows"][0]["long_s"], 10.0);
  EXPECT_TRUE(j[0]["windows"][0]["first_fired_s"].is_null());
}

TEST(SloEvalTest, WithinColumnMatchesKeelLoad) {
  EXPECT_EQ(WithinColumnFor(milliseconds(50)), "le_50ms");
  EXPECT_EQ(WithinColumnFor(std::chrono::microseconds(1500)), "le_1500us");
}

}  // namespace
}  // namespace keel::lab
