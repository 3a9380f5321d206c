#include "keel/slo/error_budget.h"

#include <cmath>
#include <string>

namespace keel::slo {

Status ValidateObjective(double objective) {
  if (!std::isfinite(objective) || objective <= 0 || objective >= 1) {
    return InvalidArgument("SLO objective " + std::to_string(objective) +
                           " must be between 0 and 1 exclusive (e.g. 0.999 or 99.9%)");
  }
  return Status::Ok();
}

double ErrorBudget(double objective) { return 1.0 - objective; }

double BurnRate(double error_ratio, double objective) {
  if (error_ratio == 0) return 0;
  return error_ratio / ErrorBudget(objective);
}

double ErrorRatio(std::uint64_t bad, std::uint64_t total) {
  if (total == 0) return 0;
  return static_cast<double>(bad) / static_cast<double>(total);
}

double BudgetSpent(double burn_rate, Duration window, Duration period) {
  return burn_rate * static_cast<double>(window.count()) / static_cast<double>(period.count());
}

double BudgetConsumed(std::uint64_t good, std::uint64_t total, double objective) {
  const std::uint64_t bad = good >= total ? 0 : total - good;
  return BurnRate(ErrorRatio(bad, total), objective);
}

double AllowedBadEvents(std::uint64_t total, double objective) {
  return static_cast<double>(total) * ErrorBudget(objective);
}

}  // namespace keel::slo
