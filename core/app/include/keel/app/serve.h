// `keel serve <service>`: the shared entry point that turns flags, a config
// file and KEEL_* variables into a running HTTP service.
//
// A service describes itself once with a ServiceDef; Serve() loads and
// validates the config (common keys under http.* and log.*, plus the
// service's own), builds its routes, binds, serves and drains on SIGTERM.
//
//   ServiceDef hello{.name = "hello", .summary = "...",
//                    .build = [](const config::Config&, net::Router& r) { ... }};
//   return Serve(hello, flags);
//
// Exit codes: 0 after a graceful stop, 1 when the service cannot start
// (e.g. the address is in use), 2 for invalid configuration.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/config/config.h"
#include "keel/net/http_server.h"
#include "keel/net/router.h"

namespace keel::trace {
class Tracer;
}  // namespace keel::trace

namespace keel::app {

// What a service runs beside its HTTP routes (a gRPC server, a file
// watcher). Created by ServiceDef::start before the HTTP server binds;
// Stop() is called after the HTTP server has drained.
class Sidecar {
 public:
  virtual ~Sidecar() = default;
  virtual void Stop() = 0;
};

struct ServiceDef {
  std::string name;
  std::string summary;
  // Declares the service's own config keys (optional).
  std::function<void(config::Schema&)> add_keys;
  // Adds the service's routes; an error aborts startup with exit code 1.
  std::function<Status(const config::Config&, net::Router&)> build;
  // Instead of `build`, for services that run more than routes: adds the
  // routes and returns what must run beside them.
  std::function<StatusOr<std::unique_ptr<Sidecar>>(const config::Config&, const std::string& config_file,
                                                   net::Router&)>
      start;
  // Top-level keys of the config file in the service's own format (see
  // config::LoadOptions::foreign_keys).
  std::vector<std::string> foreign_keys;
};

// What the command line said; empty strings mean "not given".
struct ServeFlags {
  std::string config_file;
  std::string http;       // HOST:PORT
  std::string threads;
  std::string log_level;
  std::string access_log;  // "true" / "false"
  std::string grpc;        // HOST:PORT (grpc.listen), for services that serve gRPC
  std::string admin_token_file;  // admin.token_file, for services with an admin API
  std::string store;             // redis.url, for services that keep state in Redis
  std::vector<std::string> sets;  // "key=value"
};

// The keys every service has.
void AddCommonKeys(config::Schema& schema);
// Loads config from flags, file and environment. Errors name the key.
StatusOr<config::Config> LoadServiceConfig(const ServiceDef& service, const ServeFlags& flags);
// HTTP server options from a loaded config.
net::HttpServerOptions HttpOptionsFromConfig(const config::Config& cfg);

int Serve(const ServiceDef& service, const ServeFlags& flags);

// The tracer of the service Serve() runs (from the tracing.* keys), for
// clients that start spans; null when tracing export is off or outside
// Serve(). Set before ServiceDef::build/start runs.
trace::Tracer* ServiceTracer();

}  // namespace keel::app
