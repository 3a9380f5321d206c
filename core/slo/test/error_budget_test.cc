// Worked examples from the SRE workbook, "Alerting on SLOs" (99.9 %, 30 days).
#include "keel/slo/error_budget.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

namespace keel::slo {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr Duration kThirtyDays = hours(30 * 24);

TEST(ErrorBudgetTest, IsOneMinusTheObjective) {
  EXPECT_DOUBLE_EQ(ErrorBudget(0.999), 0.001);
  EXPECT_NEAR(ErrorBudget(0.99), 0.01, 1e-15);
}

TEST(ErrorBudgetTest, AllowsAThousandBadEventsInAMillionAtThreeNines) {
  EXPECT_NEAR(AllowedBadEvents(1'000'000, 0.999), 1000, 1e-9);
}

TEST(ErrorBudgetTest, BurnRateIsErrorRatioOverBudget) {
  EXPECT_NEAR(BurnRate(0.0144, 0.999), 14.4, 1e-9);
  EXPECT_NEAR(BurnRate(0.001, 0.999), 1.0, 1e-9);
  EXPECT_EQ(BurnRate(0, 0.999), 0);
}

TEST(ErrorBudgetTest, WorkbookAlertThresholdsSpendTheirShareOfTheBudget) {
  // 14.4x for 1 h spends 2 %, 6x for 6 h 5 %, 1x for 3 days 10 %.
  EXPECT_NEAR(BudgetSpent(14.4, hours(1), kThirtyDays), 0.02, 1e-12);
  EXPECT_NEAR(BudgetSpent(6, hours(6), kThirtyDays), 0.05, 1e-12);
  EXPECT_NEAR(BudgetSpent(1, hours(72), kThirtyDays), 0.10, 1e-12);
}

TEST(ErrorBudgetTest, ThousandfoldBurnExhaustsThirtyDaysIn43Minutes) {
  // The workbook's table: burn rate 1000 -> budget gone in 43.2 minutes.
  EXPECT_NEAR(BudgetSpent(1000, seconds(43 * 60 + 12), kThirtyDays), 1.0, 1e-12);
  EXPECT_NEAR(BudgetSpent(2, hours(15 * 24), kThirtyDays), 1.0, 1e-12);
}

TEST(ErrorBudgetTest, BudgetConsumedOverAPeriod) {
  EXPECT_NEAR(BudgetConsumed(998'500, 1'000'000, 0.999), 1.5, 1e-9);
  EXPECT_NEAR(BudgetConsumed(999'500, 1'000'000, 0.999), 0.5, 1e-9);
  EXPECT_EQ(BudgetConsumed(1'000'000, 1'000'000, 0.999), 0);
  EXPECT_EQ(BudgetConsumed(0, 0, 0.999), 0);
  EXPECT_EQ(BudgetConsumed(7, 5, 0.999), 0);  // more good than total counts as all good
}

TEST(ErrorBudgetTest, ErrorRatioOfNothingIsZero) {
  EXPECT_EQ(ErrorRatio(0, 0), 0);
  EXPECT_DOUBLE_EQ(ErrorRatio(1, 4), 0.25);
}

TEST(ErrorBudgetTest, ValidateObjectiveRejectsValuesWithoutABudget) {
  EXPECT_TRUE(ValidateObjective(0.999).ok());
  EXPECT_TRUE(ValidateObjective(0.5).ok());
  for (double bad : {0.0, 1.0, 1.5, -0.1, 99.9, std::numeric_limits<double>::quiet_NaN()}) {
    Status s = ValidateObjective(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("between 0 and 1"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace keel::slo
