#include "keel/paymentsim/service.h"

#include <memory>
#include <utility>

#include "keel/net/worker_context.h"
#include "keel/obs/metrics.h"
#include "simulator.h"

namespace keel::paymentsim {
namespace {

config::KeySpec Rate(std::string key, std::string help) {
  config::KeySpec k{std::move(key), config::Type::kDouble, "0", std::move(help)};
  k.min_double = 0;
  k.max_double = 1;
  return k;
}

// The simulator's counts, also on /metrics (read at scrape time).
void ExportStats(const std::shared_ptr<Simulator>& sim, obs::Registry& registry) {
  struct Field {
    const char* name;
    const char* help;
    std::uint64_t SimStats::*value;
  };
  static constexpr Field kFields[] = {
      {"keel_paymentsim_authorized_total", "Payment intents authorized.", &SimStats::authorized},
      {"keel_paymentsim_declined_total", "Authorizations declined (402).", &SimStats::declined},
      {"keel_paymentsim_captured_total", "Payment intents captured.", &SimStats::captured},
      {"keel_paymentsim_canceled_total", "Payment intents canceled.", &SimStats::canceled},
      {"keel_paymentsim_refunded_total", "Payment intents refunded.", &SimStats::refunded},
      {"keel_paymentsim_errors_total", "Injected 503 api_errors.", &SimStats::errors},
      {"keel_paymentsim_invalid_total", "4xx answers other than declines.", &SimStats::invalid},
      {"keel_paymentsim_requests_total", "API calls but GET /v1/stats.", &SimStats::requests},
  };
  for (const Field& f : kFields) {
    registry.AddCallback(f.name, f.help, obs::MetricType::kCounter, [sim, value = f.value] {
      return static_cast<double>(sim->stats().*value);
    });
  }
}

}  // namespace

app::ServiceDef PaymentSimService() {
  app::ServiceDef def;
  def.name = "payment-sim";
  def.summary = "Stripe-like payment provider simulator (authorize, capture, refund, faults)";
  def.add_keys = [](config::Schema& schema) {
    schema.Add(Rate("paymentsim.decline_rate", "share of good card tokens declined (402)"))
        .Add(Rate("paymentsim.error_rate", "share of POSTs answered 503 api_error, without effect"))
        .Add({"paymentsim.latency", config::Type::kDuration, "0s",
              "delay before every answer (the effect happens at once)", 0, 60000})
        .Add({"paymentsim.seed", config::Type::kInt, "1", "seed of the fault knobs' random draws"});
  };
  def.build = [](const config::Config& cfg, net::Router& router) -> Status {
    SimulatorOptions options;
    options.decline_rate = cfg.GetDouble("paymentsim.decline_rate");
    options.error_rate = cfg.GetDouble("paymentsim.error_rate");
    const auto seed = static_cast<std::uint64_t>(cfg.GetInt("paymentsim.seed"));
    auto sim = std::make_shared<Simulator>(options, Simulator::SeededUniform(seed));
    ExportStats(sim, obs::DefaultRegistry());
    const Duration latency = cfg.GetDuration("paymentsim.latency");

    net::AsyncHandler handler = [sim, latency](const net::Request& req, net::Response& res,
                                               net::Responder responder) {
      SimResponse r = sim->Handle(req.method, req.path, req.header("idempotency-key"), req.body);
      res.set_status(r.status);
      res.set_content_type("application/json");
      res.body() = std::move(r.body);
      if (r.replayed) res.add_header("Idempotent-Replayed", "true");
      if (latency <= Duration::zero()) {
        responder.Send();
        return;
      }
      // A timer on the worker's loop, not a sleep: the worker keeps serving.
      auto shared = std::make_shared<net::Responder>(std::move(responder));
      net::CurrentScheduler().After(latency, [shared] { shared->Send(); });
    };
    using net::Method;
    for (const auto& [method, pattern] :
         {std::pair{Method::kPost, "/v1/payment_intents"},
          std::pair{Method::kPost, "/v1/payment_intents/{id}/capture"},
          std::pair{Method::kPost, "/v1/payment_intents/{id}/cancel"},
          std::pair{Method::kPost, "/v1/refunds"},
          std::pair{Method::kGet, "/v1/payment_intents/{id}"},
          std::pair{Method::kGet, "/v1/stats"}}) {
      if (Status s = router.AddAsync(method, pattern, handler); !s.ok()) return s;
    }
    return Status::Ok();
  };
  return def;
}

}  // namespace keel::paymentsim
