#include "keel/resilience/admission_config.h"

#include <chrono>

namespace keel::resilience {

using config::KeySpec;
using config::Type;

void AddAdmissionKeys(config::Schema& schema, const std::string& prefix) {
  constexpr std::int64_t kMaxLimit = 1000000;
  schema.Add({prefix + ".limit",
              Type::kEnum,
              "off",
              "admission control: off, fixed, aimd or gradient",
              0,
              0,
              {"off", "fixed", "aimd", "gradient"}});
  schema.Add({prefix + ".fixed_limit", Type::kInt, "100", "concurrency limit when limit=fixed", 1,
              kMaxLimit});
  schema.Add(
      {prefix + ".initial_limit", Type::kInt, "20", "starting adaptive limit", 1, kMaxLimit});
  schema.Add({prefix + ".min_limit", Type::kInt, "1", "lowest adaptive limit", 1, kMaxLimit});
  schema.Add({prefix + ".max_limit", Type::kInt, "1000", "highest adaptive limit", 1, kMaxLimit});
  KeySpec low{prefix + ".share.low", Type::kDouble, "0.5",
              "fraction of the limit low-priority requests may fill"};
  low.min_double = 0;
  low.max_double = 1;
  schema.Add(low);
  KeySpec normal{prefix + ".share.normal", Type::kDouble, "0.9",
                 "fraction of the limit normal-priority requests may fill"};
  normal.min_double = 0;
  normal.max_double = 1;
  schema.Add(normal);
  schema.Add({prefix + ".timeout", Type::kDuration, "5s",
              "aimd: a request slower than this counts as a drop", 1, 3600000});
}

AdmissionOptions AdmissionOptionsFromConfig(const config::Config& config,
                                            const std::string& prefix) {
  AdmissionOptions out;
  const std::string kind = config.GetString(prefix + ".limit");
  out.enabled = kind != "off";
  LoadShedderOptions& s = out.shedder;
  s.kind = kind == "fixed"  ? LimitKind::kFixed
           : kind == "aimd" ? LimitKind::kAimd
                            : LimitKind::kGradient;
  // Bounds above keep these within int.
  s.fixed_limit = static_cast<int>(config.GetInt(prefix + ".fixed_limit"));
  s.initial_limit = static_cast<int>(config.GetInt(prefix + ".initial_limit"));
  s.min_limit = static_cast<int>(config.GetInt(prefix + ".min_limit"));
  s.max_limit = static_cast<int>(config.GetInt(prefix + ".max_limit"));
  s.share_low = config.GetDouble(prefix + ".share.low");
  s.share_normal = config.GetDouble(prefix + ".share.normal");
  s.aimd.timeout = config.GetDuration(prefix + ".timeout");
  return out;
}

}  // namespace keel::resilience
