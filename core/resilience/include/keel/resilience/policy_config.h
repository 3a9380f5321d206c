// Config keys for a resilience Pipeline, declared in a config::Schema under a
// prefix (e.g. "upstreams.users.resilience"), so that YAML, KEEL_* variables
// and flags set them and a bad value is reported naming its key.
//
//   <prefix>.breaker.enabled                  bool      true
//   <prefix>.breaker.window_type              count|time count
//   <prefix>.breaker.window_size              int       100 (calls, or seconds)
//   <prefix>.breaker.minimum_calls            int       50
//   <prefix>.breaker.failure_rate_threshold   double    50 (percent, 0..100)
//   <prefix>.breaker.slow_call_rate_threshold double    100
//   <prefix>.breaker.slow_call_duration       duration  60s
//   <prefix>.breaker.wait_in_open             duration  10s
//   <prefix>.breaker.half_open_calls          int       10
//   <prefix>.breaker.max_wait_in_half_open    duration  0s (forever)
//   <prefix>.retry.max_attempts               int       3
//   <prefix>.retry.base / .retry.cap          duration  50ms / 2s
//   <prefix>.retry.budget_ratio               double    0.1
//   <prefix>.retry.min_retries_per_second     double    1
//   <prefix>.retry.budget_window              duration  10s
//   <prefix>.bulkhead.enabled                 bool      true
//   <prefix>.bulkhead.max_concurrent          int       0 (= 2 x cores)
//   <prefix>.bulkhead.max_queue               int       -1 (= max_concurrent)
//   <prefix>.bulkhead.max_wait                duration  0s (until the deadline)
//   <prefix>.timeout.per_try                  duration  1s (0 = none)
//   <prefix>.timeout.total                    duration  2s (0 = none)
// (PipelineOptions itself defaults both to 0 = none: a library user opts in;
// a configured service gets bounded calls.)
//   <prefix>.hedge.enabled                    bool      false
//   <prefix>.hedge.percentile                 double    95
//   <prefix>.hedge.max_attempts               int       2 (1..5; 2 = one hedge)
//
//   config::Schema schema;
//   AddPolicyKeys(schema, "upstreams.users");
//   auto cfg = config::Config::Load(schema, {.file = path});
//   PipelineOptions o = PipelineOptionsFromConfig(*cfg, "upstreams.users");
//   o.hedge.delay = [&] { return tracker.Percentile(o.hedge.percentile / 100); };
//   auto pipeline = Pipeline::Create(o, clock, registry, "users");  // checks cross-key rules
#pragma once

#include <string>

#include "keel/config/config.h"
#include "keel/resilience/pipeline.h"

namespace keel::resilience {

// REQUIRES: none of the keys already in the schema.
void AddPolicyKeys(config::Schema& schema, const std::string& prefix);

// REQUIRES: `config` loaded with a schema AddPolicyKeys(prefix) filled.
// hedge.delay is left empty (the caller wires the latency estimate).
PipelineOptions PipelineOptionsFromConfig(const config::Config& config,
                                          const std::string& prefix);

}  // namespace keel::resilience
