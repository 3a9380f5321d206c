// The metrics of keel chaos, declared once. Every series is labelled by proxy
// name only (plus direction for bytes), so cardinality is the number of
// proxies, bounded by the registry's per-family series cap.
#pragma once

#include <string>

#include "keel/obs/metrics.h"

namespace keel::chaos {

// One proxy's series, resolved once; the pointers live as long as the registry.
struct ProxyMetrics {
  obs::Counter* bytes_upstream = nullptr;    // client -> server, written upstream
  obs::Counter* bytes_downstream = nullptr;  // server -> client, written to the client
  obs::Counter* connections = nullptr;
  obs::Gauge* connections_open = nullptr;
  obs::Gauge* toxics_active = nullptr;
};

class ChaosMetrics {
 public:
  explicit ChaosMetrics(obs::Registry& registry);
  ProxyMetrics ForProxy(const std::string& name);

 private:
  obs::CounterFamily& bytes_;
  obs::CounterFamily& connections_;
  obs::GaugeFamily& open_;
  obs::GaugeFamily& toxics_;
};

}  // namespace keel::chaos
