// The tracing.* configuration keys and the factory a server calls once at
// start-up:
//
//   trace::AddTracingKeys(schema);
//   ...
//   StatusOr<std::unique_ptr<trace::Tracer>> tracer =
//       trace::TracerFromConfig(cfg, "orders", obs::DefaultRegistry());
//   // *tracer is nullptr when tracing.otlp_endpoint is empty: tracing off,
//   // and the server skips span work entirely (one null check per request).
//
// Keys: tracing.otlp_endpoint ("" = off), tracing.sample_ratio (0.01),
// tracing.slow_threshold (500ms), tracing.service_name ("" = the service's
// name), tracing.max_queue (2048), tracing.batch_size (512),
// tracing.batch_delay (1s).
#pragma once

#include <memory>
#include <string_view>

#include "keel/base/status.h"
#include "keel/config/config.h"
#include "keel/obs/metrics.h"
#include "keel/trace/exporter.h"
#include "keel/trace/tracer.h"

namespace keel::trace {

void AddTracingKeys(config::Schema& schema);

// REQUIRES: cfg loaded with a schema that had AddTracingKeys.
TracerOptions TracerOptionsFromConfig(const config::Config& cfg,
                                      std::string_view default_service_name);
ExporterOptions ExporterOptionsFromConfig(const config::Config& cfg);

// Errors: InvalidArgument for a malformed endpoint (https, junk).
StatusOr<std::unique_ptr<Tracer>> TracerFromConfig(const config::Config& cfg,
                                                   std::string_view service_name,
                                                   obs::Registry& registry);

}  // namespace keel::trace
