#include "keel/app/serve.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "keel/obs/log.h"
#include "keel/obs/metrics.h"
#include "keel/obs/process_metrics.h"
#include "keel/resilience/admission_config.h"
#include "keel/trace/tracer.h"
#include "keel/trace/tracing_config.h"

namespace keel::app {

using config::KeySpec;
using config::Type;

void AddCommonKeys(config::Schema& schema) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  schema.Add({"http.listen", Type::kHostPort, "127.0.0.1:8080", "address to serve HTTP on"})
      .Add({"http.threads", Type::kInt, std::to_string(cores), "worker threads (default: cores)",
            1, 1024})
      .Add({"http.max_header_bytes", Type::kByteSize, "16KiB",
            "largest request header accepted (else 431)", 256, 1 << 24})
      .Add({"http.max_body_bytes", Type::kByteSize, "1MiB",
            "largest request body accepted (else 413)", 0, 1LL << 32})
      .Add({"http.header_timeout", Type::kDuration, "10s",
            "time from a request's first byte to its complete header (else 408)", 1, 3600000})
      .Add({"http.idle_timeout", Type::kDuration, "60s",
            "keep-alive idle time, and the longest stall while reading a body or writing", 1,
            86400000})
      .Add({"http.shutdown_timeout", Type::kDuration, "10s",
            "how long a graceful shutdown waits for requests in flight", 0, 3600000})
      .Add({"http.max_connections", Type::kInt, "50000", "open connections accepted at once", 1,
            10000000})
      .Add({"log.level", Type::kEnum, "info", "debug, info, warn or error", 0, 0,
            {"debug", "info", "warn", "error"}})
      .Add({"log.access", Type::kBool, "false", "one JSON log line per request"});
  trace::AddTracingKeys(schema);
  resilience::AddAdmissionKeys(schema, "http.admission");
}

namespace {
trace::Tracer* g_tracer = nullptr;
}  // namespace

trace::Tracer* ServiceTracer() { return g_tracer; }

StatusOr<config::Config> LoadServiceConfig(const ServiceDef& service, const ServeFlags& flags) {
  config::Schema schema;
  AddCommonKeys(schema);
  if (service.add_keys) service.add_keys(schema);
  config::LoadOptions options;
  options.file = flags.config_file;
  options.env = config::EnvFromProcess();
  if (options.file.empty()) {
    auto it = options.env.find("KEEL_CONFIG");
    if (it != options.env.end()) options.file = it->second;
  }
  auto add = [&](const std::string& key, const std::string& value, const std::string& flag) {
    if (!value.empty()) options.overrides.push_back({key, value, "flag " + flag});
  };
  add("http.listen", flags.http, "--http");
  add("http.threads", flags.threads, "--threads");
  add("log.level", flags.log_level, "--log-level");
  add("log.access", flags.access_log, "--access-log");
  add("grpc.listen", flags.grpc, "--grpc");
  add("admin.token_file", flags.admin_token_file, "--admin-token-file");
  add("redis.url", flags.store, "--store");
  options.foreign_keys = service.foreign_keys;
  for (const auto& kv : flags.sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--set: expected KEY=VALUE, got '" + kv + "'");
    }
    options.overrides.push_back({kv.substr(0, eq), kv.substr(eq + 1), "flag --set"});
  }
  return config::Config::Load(schema, options);
}

net::HttpServerOptions HttpOptionsFromConfig(const config::Config& cfg) {
  net::HttpServerOptions o;
  HostPort hp = cfg.GetHostPort("http.listen");
  o.host = hp.host;
  o.port = hp.port;
  o.threads = static_cast<int>(cfg.GetInt("http.threads"));
  o.limits.max_header_bytes = cfg.GetByteSize("http.max_header_bytes");
  o.limits.max_body_bytes = cfg.GetByteSize("http.max_body_bytes");
  o.header_timeout = cfg.GetDuration("http.header_timeout");
  o.idle_timeout = cfg.GetDuration("http.idle_timeout");
  o.shutdown_timeout = cfg.GetDuration("http.shutdown_timeout");
  o.max_connections = static_cast<std::size_t>(cfg.GetInt("http.max_connections"));
  o.access_log = cfg.GetBool("log.access");
  return o;
}

namespace {

// Many keep-alive clients need many descriptors: use the hard limit.
void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int Serve(const ServiceDef& service, const ServeFlags& flags) {
  auto cfg = LoadServiceConfig(service, flags);
  if (!cfg.ok()) {
    std::fprintf(stderr, "keel: error: %s\n", cfg.status().message().c_str());
    return 2;
  }
  obs::LogLevel level = obs::LogLevel::kInfo;
  obs::ParseLogLevel(cfg->GetString("log.level"), &level);
  obs::SetLogLevel(level);
  RaiseFdLimit();

  obs::Registry& registry = obs::DefaultRegistry();
  // Checked before the service starts; outlives the server, which points to it.
  std::unique_ptr<resilience::LoadShedder> admission;
  if (auto a = resilience::AdmissionOptionsFromConfig(*cfg, "http.admission"); a.enabled) {
    a.shedder.name = "http";
    auto shedder = resilience::LoadShedder::Create(a.shedder, SystemClock::Default(), registry);
    if (!shedder.ok()) {
      std::fprintf(stderr, "keel: error: http.admission: %s\n",
                   shedder.status().message().c_str());
      return 2;
    }
    admission = std::move(*shedder);
  }
  // Before the service builds its routes: its clients start their spans here.
  auto tracer = trace::TracerFromConfig(*cfg, service.name, registry);
  if (!tracer.ok()) {
    std::fprintf(stderr, "keel: error: %s\n", tracer.status().message().c_str());
    return 2;
  }
  g_tracer = tracer->get();

  net::Router router;
  std::unique_ptr<Sidecar> sidecar;
  Status st = Status::Ok();
  if (service.start) {
    std::string file = flags.config_file;
    if (file.empty() && std::getenv("KEEL_CONFIG")) file = std::getenv("KEEL_CONFIG");
    auto started = service.start(*cfg, file, router);
    if (started.ok()) {
      sidecar = std::move(*started);
    } else {
      st = started.status();
    }
  } else if (service.build) {
    st = service.build(*cfg, router);
  }
  if (!st.ok()) {
    obs::Log(obs::LogLevel::kError, "service failed to start",
             {{"service", service.name}, {"error", st.message()}});
    std::fprintf(stderr, "keel: error: %s\n", st.message().c_str());
    return 1;
  }
  obs::RegisterProcessMetrics(registry);
  net::HttpServerOptions options = HttpOptionsFromConfig(*cfg);
  options.tracer = g_tracer;
  options.admission = admission.get();
  auto server = net::HttpServer::Create(options, std::move(router), registry);
  if (!server.ok()) {
    obs::Log(obs::LogLevel::kError, "cannot start", {{"service", service.name},
                                                     {"error", server.status().message()}});
    std::fprintf(stderr, "keel: error: %s\n", server.status().message().c_str());
    if (sidecar) sidecar->Stop();
    return 1;
  }
  std::string addr = options.host + ":" + std::to_string((*server)->port());
  (*server)->Run(/*handle_signals=*/true, [&] {
    obs::Log(obs::LogLevel::kInfo, "listening",
             {{"service", service.name}, {"http", addr}, {"threads", options.threads}});
  });
  if (sidecar) sidecar->Stop();
  server->reset();  // its connections may still end spans
  g_tracer = nullptr;
  tracer->reset();  // flushes the spans still queued for export
  return 0;
}

}  // namespace keel::app
