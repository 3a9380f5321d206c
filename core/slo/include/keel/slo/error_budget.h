// Error budgets and burn rates, as defined in Google's SRE workbook
// ("Implementing SLOs", "Alerting on SLOs").
//
// An objective is the fraction of events that must be good over a period,
// e.g. 0.999. Its error budget is the fraction allowed to be bad (0.001). A
// burn rate is how fast a stretch of traffic spends that budget: its error
// ratio divided by the budget. Burning at 1× for the whole period spends
// exactly the budget; at 14.4× for 1 h of a 30-day period it spends 2 %.
//
//   double budget = ErrorBudget(0.999);              // 0.001
//   double burn = BurnRate(0.0144, 0.999);           // 14.4
//   double spent = BudgetSpent(14.4, 1h, 30 * 24h);  // 0.02
//   double used = BudgetConsumed(/*good=*/998'500, /*total=*/1'000'000, 0.999);  // 1.5
//
// All functions are pure. Objectives outside (0, 1) make no budget: callers
// validate them first with ValidateObjective().
#pragma once

#include <cstdint>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::slo {

// OK for 0 < objective < 1; InvalidArgument naming the value otherwise (an
// objective of 1 leaves no budget, so every burn rate would be infinite).
Status ValidateObjective(double objective);

// 1 - objective.
double ErrorBudget(double objective);

// error_ratio / (1 - objective). 0 when error_ratio is 0.
double BurnRate(double error_ratio, double objective);

// The error ratio of `bad` events out of `total`; 0 when total is 0.
double ErrorRatio(std::uint64_t bad, std::uint64_t total);

// The fraction of a period's budget spent by burning at `burn_rate` for
// `window`: burn_rate * window / period.
double BudgetSpent(double burn_rate, Duration window, Duration period);

// The fraction of the budget a whole period's events used: the burn rate of
// the period itself (1.0 = exactly the budget; above 1 the objective is
// missed). 0 when total is 0.
double BudgetConsumed(std::uint64_t good, std::uint64_t total, double objective);

// How many of `total` events may be bad before the objective is missed.
double AllowedBadEvents(std::uint64_t total, double objective);

}  // namespace keel::slo
