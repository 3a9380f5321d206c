#include "keel/relay/service.h"

#include "keel/obs/metrics.h"
#include "keel/resilience/admission_config.h"
#include "keel/resilience/policy_config.h"
#include "relay.h"

namespace keel::relay {

app::ServiceDef RelayService() {
  app::ServiceDef def;
  def.name = "relay";
  def.summary = "HTTP gateway to one upstream through the core's resilience stack";
  def.add_keys = [](config::Schema& schema) {
    using config::Type;
    schema.Add({"relay.upstream", Type::kString, "", "HOST:PORT of the upstream (required)"})
        .Add({"relay.keep_alive", Type::kBool, "true",
              "reuse upstream connections (false: one connection per attempt)"})
        .Add({"relay.max_connections", Type::kInt, "64",
              "upstream connections per worker thread", 1, 100000});
    resilience::AddPolicyKeys(schema, "relay");
    resilience::AddAdmissionKeys(schema, "relay.admission");
  };
  def.build = [](const config::Config& cfg, net::Router& router) -> Status {
    RelayOptions options;
    options.upstream = cfg.GetString("relay.upstream");
    options.keep_alive = cfg.GetBool("relay.keep_alive");
    options.max_connections = static_cast<int>(cfg.GetInt("relay.max_connections"));
    options.tracer = app::ServiceTracer();
    options.admission = resilience::AdmissionOptionsFromConfig(cfg, "relay.admission");
    options.admission.shedder.name = "relay";
    auto relay = Relay::Create(options, resilience::PipelineOptionsFromConfig(cfg, "relay"),
                               obs::DefaultRegistry());
    if (!relay.ok()) return relay.status();
    std::shared_ptr<Relay> shared = std::move(*relay);
    return router.AddAsync(net::Method::kGet, "/relay/{path}",
                           [shared](const net::Request& req, net::Response& res,
                                    net::Responder responder) {
                             shared->Handle(req, res, std::move(responder));
                           });
  };
  return def;
}

}  // namespace keel::relay
