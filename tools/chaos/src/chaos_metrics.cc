#include "chaos_metrics.h"

namespace keel::chaos {

ChaosMetrics::ChaosMetrics(obs::Registry& r)
    : bytes_(r.AddCounter("keel_chaos_bytes_total",
                          "Bytes written by a proxy, by direction (upstream: client to server).",
                          {"proxy", "direction"})),
      connections_(r.AddCounter("keel_chaos_connections_total",
                                "Client connections accepted by a proxy.", {"proxy"})),
      open_(r.AddGauge("keel_chaos_connections_open", "Client connections open now.",
                       {"proxy"})),
      toxics_(r.AddGauge("keel_chaos_toxics_active", "Toxics configured on a proxy.",
                         {"proxy"})) {}

ProxyMetrics ChaosMetrics::ForProxy(const std::string& name) {
  ProxyMetrics m;
  m.bytes_upstream = bytes_.Get({name, "upstream"});
  m.bytes_downstream = bytes_.Get({name, "downstream"});
  m.connections = connections_.Get({name});
  m.connections_open = open_.Get({name});
  m.toxics_active = toxics_.Get({name});
  return m;
}

}  // namespace keel::chaos
