#include "keel/trace/tracing_config.h"

#include "keel/trace/otlp_http_transport.h"

namespace keel::trace {

void AddTracingKeys(config::Schema& schema) {
  using config::Type;
  schema.Add({"tracing.otlp_endpoint", Type::kString, "",
              "OTLP/HTTP collector, e.g. http://127.0.0.1:4318; empty: tracing off"});
  config::KeySpec ratio{"tracing.sample_ratio", Type::kDouble, "0.01",
                        "share of ordinary traces kept (errors, slow and caller-sampled always are)"};
  ratio.min_double = 0;
  ratio.max_double = 1;
  schema.Add(ratio);
  schema.Add({"tracing.slow_threshold", Type::kDuration, "500ms",
              "a trace whose root lasts this long is always kept", 1});
  schema.Add({"tracing.service_name", Type::kString, "", "service.name; empty: the service's name"});
  schema.Add({"tracing.max_queue", Type::kInt, "2048", "spans waiting for export at most", 1,
              1 << 20});
  schema.Add({"tracing.batch_size", Type::kInt, "512", "spans per OTLP request at most", 1,
              1 << 20});
  schema.Add({"tracing.batch_delay", Type::kDuration, "1s",
              "longest a span waits before its batch is sent", 1, 60000});
}

TracerOptions TracerOptionsFromConfig(const config::Config& cfg,
                                      std::string_view default_service_name) {
  TracerOptions o;
  o.service_name = cfg.GetString("tracing.service_name");
  if (o.service_name.empty()) o.service_name = std::string(default_service_name);
  o.sample_ratio = cfg.GetDouble("tracing.sample_ratio");
  o.slow_threshold = cfg.GetDuration("tracing.slow_threshold");
  return o;
}

ExporterOptions ExporterOptionsFromConfig(const config::Config& cfg) {
  ExporterOptions o;
  o.max_queue = static_cast<std::size_t>(cfg.GetInt("tracing.max_queue"));
  o.batch_size = static_cast<std::size_t>(cfg.GetInt("tracing.batch_size"));
  o.batch_delay = cfg.GetDuration("tracing.batch_delay");
  return o;
}

StatusOr<std::unique_ptr<Tracer>> TracerFromConfig(const config::Config& cfg,
                                                   std::string_view service_name,
                                                   obs::Registry& registry) {
  std::string endpoint = cfg.GetString("tracing.otlp_endpoint");
  if (endpoint.empty()) return std::unique_ptr<Tracer>();
  auto ep = ParseOtlpEndpoint(endpoint);
  if (!ep.ok()) return ep.status();
  TracerOptions topts = TracerOptionsFromConfig(cfg, service_name);
  ExporterOptions eopts = ExporterOptionsFromConfig(cfg);
  if (eopts.batch_size > eopts.max_queue) {
    return InvalidArgument("tracing.batch_size must not exceed tracing.max_queue");
  }
  auto exporter = BatchSpanExporter::Create(eopts, std::make_unique<OtlpHttpTransport>(*ep),
                                            OtlpResource{topts.service_name}, registry);
  if (!exporter.ok()) return exporter.status();
  return Tracer::Create(std::move(topts), std::move(*exporter), registry);
}

}  // namespace keel::trace
