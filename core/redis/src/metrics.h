// The client's metrics, declared once (metrics.cc) and resolved per server.
#pragma once

#include <string>

#include "keel/obs/metrics.h"

namespace keel::redis::internal {

// One server's series; pointers into the registry, valid for its lifetime.
struct ServerMetrics {
  obs::Counter* ok = nullptr;           // commands_total{outcome="ok"}
  obs::Counter* error_reply = nullptr;  // {outcome="error_reply"}: Redis answered with an error
  obs::Counter* timeout = nullptr;      // {outcome="timeout"}
  obs::Counter* connection = nullptr;   // {outcome="connection"}: lost in flight / no connection
  obs::Counter* protocol = nullptr;     // {outcome="protocol"}
  obs::Histogram* duration = nullptr;   // replies only (ok and error_reply)
  obs::Gauge* inflight = nullptr;       // calls whose callback has not run
  obs::Gauge* connections = nullptr;    // connections up (handshake done)
  obs::Counter* connection_errors = nullptr;  // connects failed + connections lost
  obs::Counter* reconnects = nullptr;         // connections back up after an error
  obs::Counter* writes = nullptr;             // socket writes (commands / writes = pipelining)
  obs::Counter* late_replies = nullptr;       // replies to timed-out calls, discarded

  static ServerMetrics For(obs::Registry& registry, const std::string& server);
};

// Cluster-wide series (no server label).
struct ClusterMetrics {
  obs::Counter* moved = nullptr;     // redirects_total{type="moved"}
  obs::Counter* ask = nullptr;       // {type="ask"}
  obs::Counter* exhausted = nullptr; // calls failed after max_redirects
  obs::Counter* refresh_ok = nullptr;     // topology_refreshes_total{result="ok"}
  obs::Counter* refresh_error = nullptr;  // {result="error"}
  obs::Gauge* nodes = nullptr;            // primaries in the slot map

  static ClusterMetrics For(obs::Registry& registry);
};

}  // namespace keel::redis::internal
