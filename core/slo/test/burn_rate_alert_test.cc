#include "keel/slo/burn_rate_alert.h"

#include <gtest/gtest.h>

#include <chrono>

namespace keel::slo {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// `steps` steps of `total` events each with `bad` of them bad.
void AppendSteady(EventSeries* s, int steps, std::uint64_t total, std::uint64_t bad) {
  for (int i = 0; i < steps; ++i) s->Append(total - bad, total);
}

TEST(BurnRateAlertTest, WorkbookDefaultsForThirtyDays) {
  const auto w = WorkbookWindows();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].long_window, hours(1));
  EXPECT_EQ(w[0].short_window, minutes(5));
  EXPECT_DOUBLE_EQ(w[0].burn_rate, 14.4);
  EXPECT_EQ(w[1].long_window, hours(6));
  EXPECT_EQ(w[1].short_window, minutes(30));
  EXPECT_DOUBLE_EQ(w[1].burn_rate, 6);
  EXPECT_EQ(w[2].long_window, hours(72));
  EXPECT_EQ(w[2].short_window, hours(6));
  EXPECT_DOUBLE_EQ(w[2].burn_rate, 1);
  EXPECT_EQ(w[0].label, "page");
  EXPECT_EQ(w[2].label, "ticket");
}

TEST(BurnRateAlertTest, ScalesThirtyDaysToAnHourKeepingThresholds) {
  // 1 h / 30 d = 1/720: 1 h -> 5 s, 5 m -> 0.42 s (raised to the 1 s step),
  // 6 h -> 30 s, 30 m -> 2.5 s, 3 d -> 6 m, 6 h -> 30 s.
  const auto w = ScaleWindows(WorkbookWindows(), kWorkbookPeriod, hours(1), seconds(1));
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].long_window, seconds(5));
  EXPECT_EQ(w[0].short_window, seconds(1));
  EXPECT_EQ(w[1].long_window, seconds(30));
  EXPECT_EQ(w[1].short_window, milliseconds(2500));
  EXPECT_EQ(w[2].long_window, minutes(6));
  EXPECT_EQ(w[2].short_window, seconds(30));
  EXPECT_DOUBLE_EQ(w[0].burn_rate, 14.4);
  EXPECT_EQ(w[1].label, "page");
}

TEST(BurnRateAlertTest, SeriesSumsRangesAndClipsThem) {
  EventSeries s(seconds(1));
  s.Append(9, 10);
  s.Append(5, 10);
  s.Append(12, 10);  // more good than total: counted as all good
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.Sum(0, 2).good, 14u);
  EXPECT_EQ(s.Sum(0, 2).bad(), 6u);
  EXPECT_EQ(s.Sum(1, 3).good, 15u);
  EXPECT_EQ(s.Sum(1, 3).total, 20u);
  EXPECT_EQ(s.Sum(2, 99).total, 10u);
  EXPECT_EQ(s.Sum(5, 9).total, 0u);
  EXPECT_EQ(s.Total().bad(), 6u);
}

TEST(BurnRateAlertTest, SteadyBurnOfTenFiresTheSixAndOneButNotFourteen) {
  // 1 % errors against 99.9 % is a burn rate of 10 everywhere.
  EventSeries s(seconds(1));
  AppendSteady(&s, 400, 1000, 10);
  const auto w = ScaleWindows(WorkbookWindows(), kWorkbookPeriod, hours(1), seconds(1));
  const auto v = EvaluateBurnRates(s, 0.999, w, 100);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_FALSE(v[0].fired);
  EXPECT_TRUE(v[1].fired);
  EXPECT_TRUE(v[2].fired);
  for (const auto& verdict : v) {
    EXPECT_TRUE(verdict.evaluated);
    EXPECT_NEAR(verdict.max_long_burn, 10, 1e-9);
    EXPECT_NEAR(verdict.max_short_burn, 10, 1e-9);
  }
  EXPECT_EQ(v[1].first_fired, seconds(1));
  EXPECT_EQ(v[1].steps_fired, 400u);
}

TEST(BurnRateAlertTest, BurstFiresOnlyOnceTheLongWindowHasSpentEnough) {
  // 60 clean steps, then 10 % errors (burn 100). With a 10-step long window
  // at 14.4x, the long window crosses 14.4 once 2 of its 10 steps are bad
  // (2 * 100 / 10 = 20 >= 14.4; one bad step is only 10).
  EventSeries s(seconds(1));
  AppendSteady(&s, 60, 1000, 0);
  AppendSteady(&s, 10, 1000, 100);
  AppendSteady(&s, 30, 1000, 0);
  const std::vector<BurnWindow> w = {{seconds(10), seconds(1), 14.4, "page"}};
  const auto v = EvaluateBurnRates(s, 0.999, w, 100);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].fired);
  EXPECT_EQ(v[0].first_fired, seconds(62));
  // Fires while the short window still burns: steps 62..70.
  EXPECT_EQ(v[0].steps_fired, 9u);
  EXPECT_NEAR(v[0].max_short_burn, 100, 1e-9);
  EXPECT_NEAR(v[0].max_long_burn, 100, 1e-9);
}

TEST(BurnRateAlertTest, ShortWindowResetsTheAlertOnceTheBurnStops) {
  // The long window still shows the burst after it ends; the short window
  // does not, so the pair stops firing (the point of the short window).
  EventSeries s(seconds(1));
  AppendSteady(&s, 20, 1000, 100);
  AppendSteady(&s, 20, 1000, 0);
  const std::vector<BurnWindow> w = {{seconds(30), seconds(2), 6, "page"}};
  const auto v = EvaluateBurnRates(s, 0.999, w, 100);
  EXPECT_TRUE(v[0].fired);
  // Steps 1..20 burn; at step 21 the 2-step short window still holds step 20
  // (burn 50); from step 22 it is clean while the long window is not.
  EXPECT_EQ(v[0].steps_fired, 21u);
  EXPECT_GE(v[0].max_long_burn, 6);
}

TEST(BurnRateAlertTest, TooFewEventsAreNotJudged) {
  // 5 events a second, all bad: a 1-step short window never reaches 100.
  EventSeries s(seconds(1));
  AppendSteady(&s, 50, 5, 5);
  const std::vector<BurnWindow> w = {{seconds(30), seconds(1), 1, "ticket"}};
  auto v = EvaluateBurnRates(s, 0.999, w, 100);
  EXPECT_FALSE(v[0].evaluated);
  EXPECT_FALSE(v[0].fired);
  EXPECT_EQ(v[0].max_long_burn, 0);
  // With windows long enough to collect 100 events the same data fires.
  const std::vector<BurnWindow> longer = {{seconds(30), seconds(20), 1, "ticket"}};
  v = EvaluateBurnRates(s, 0.999, longer, 100);
  EXPECT_TRUE(v[0].evaluated);
  EXPECT_TRUE(v[0].fired);
  EXPECT_EQ(v[0].first_fired, seconds(20));
}

TEST(BurnRateAlertTest, EmptySeriesIsNotEvaluated) {
  EventSeries s(seconds(1));
  const auto v = EvaluateBurnRates(s, 0.99, WorkbookWindows(), 1);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_FALSE(v[0].evaluated);
}

}  // namespace
}  // namespace keel::slo
