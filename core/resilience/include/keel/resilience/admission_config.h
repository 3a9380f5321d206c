// Config keys for admission control (AdaptiveLimiter + LoadShedder).
//
// AddAdmissionKeys declares, under a prefix (e.g. "http.admission"):
//   <prefix>.limit          enum off|fixed|aimd|gradient   default off
//   <prefix>.fixed_limit    int [1, 1000000]               default 100
//   <prefix>.initial_limit  int [1, 1000000]               default 20
//   <prefix>.min_limit      int [1, 1000000]               default 1
//   <prefix>.max_limit      int [1, 1000000]               default 1000
//   <prefix>.share.low      double [0, 1]                  default 0.5
//   <prefix>.share.normal   double [0, 1]                  default 0.9
//   <prefix>.timeout        duration [1ms, 1h]             default 5s (aimd: slower is a drop)
// Consistency across keys (min <= initial <= max, 0 < low <= normal) is
// checked by LoadShedder::Create, which returns the error to report.
//
//   config::Schema schema;
//   AddAdmissionKeys(schema, "http.admission");
//   auto cfg = config::Config::Load(schema, options);
//   AdmissionOptions admission = AdmissionOptionsFromConfig(*cfg, "http.admission");
//   if (admission.enabled) shedder = LoadShedder::Create(admission.shedder, clock, registry);
#pragma once

#include <string>

#include "keel/config/config.h"
#include "keel/resilience/load_shedder.h"

namespace keel::resilience {

struct AdmissionOptions {
  bool enabled = false;  // <prefix>.limit != off
  LoadShedderOptions shedder;
};

// REQUIRES: none of the keys already in the schema.
void AddAdmissionKeys(config::Schema& schema, const std::string& prefix);

// REQUIRES: `config` loaded with a schema that AddAdmissionKeys(prefix) filled.
// shedder.name is left at its default; callers set it.
AdmissionOptions AdmissionOptionsFromConfig(const config::Config& config,
                                            const std::string& prefix);

}  // namespace keel::resilience
