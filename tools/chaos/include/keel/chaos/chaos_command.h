// `keel chaos --api HOST:PORT [--config FILE] [--threads N]`: a TCP
// fault-injection proxy whose HTTP API is wire-compatible with Toxiproxy 2.x.
//
// Starts the API server (keel::net::HttpServer: /metrics and /healthz too),
// creates the proxies of --config (a JSON or YAML array of proxies, as POST
// /populate takes), logs {"msg":"listening","http":"HOST:PORT",...} once it
// serves, and on SIGTERM/SIGINT closes every proxy and connection.
//
// Exit codes: 0 after a signal, 1 when the API address cannot be bound or a
// proxy of --config cannot start, 2 for bad flags or a bad config file (one
// line on stderr).
#pragma once

#include <cstdint>
#include <string>

#include "keel/base/status.h"
#include "keel/chaos/proxy_spec.h"

namespace keel::chaos {

struct ChaosFlags {
  std::string api = "127.0.0.1:8474";  // Toxiproxy's default port
  std::string config;
  int threads = 1;
  std::string log_level = "info";
  std::uint64_t seed = 0;  // 0: from the clock
};

// Reads a --config file: JSON, or YAML with the same shape.
StatusOr<std::vector<ProxySpec>> LoadConfigFile(const std::string& path);

int RunChaosCommand(const ChaosFlags& flags);

}  // namespace keel::chaos
