#include "keel/ratelimit/rls_types.h"

namespace keel::ratelimit {
namespace {

struct EnvoyUnit {
  int number;
  std::string_view name;
  Unit unit;
};
constexpr EnvoyUnit kEnvoyUnits[] = {
    {1, "SECOND", Unit::kSecond}, {2, "MINUTE", Unit::kMinute}, {3, "HOUR", Unit::kHour},
    {4, "DAY", Unit::kDay},       {5, "MONTH", Unit::kMonth},   {6, "YEAR", Unit::kYear},
    {7, "WEEK", Unit::kWeek},
};

}  // namespace

int EnvoyUnitNumber(Unit unit) {
  for (const EnvoyUnit& u : kEnvoyUnits) {
    if (u.unit == unit) return u.number;
  }
  return 0;
}

std::string_view EnvoyUnitName(Unit unit) {
  for (const EnvoyUnit& u : kEnvoyUnits) {
    if (u.unit == unit) return u.name;
  }
  return "UNKNOWN";
}

std::optional<Unit> UnitFromEnvoyNumber(std::int64_t number) {
  for (const EnvoyUnit& u : kEnvoyUnits) {
    if (u.number == number) return u.unit;
  }
  return std::nullopt;
}

std::optional<Unit> UnitFromEnvoyName(std::string_view name) {
  for (const EnvoyUnit& u : kEnvoyUnits) {
    if (u.name == name) return u.unit;
  }
  return std::nullopt;
}

}  // namespace keel::ratelimit
