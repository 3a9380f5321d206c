#include "metrics.h"

namespace keel::redis::internal {

ServerMetrics ServerMetrics::For(obs::Registry& registry, const std::string& server) {
  auto& commands = registry.AddCounter(
      "keel_redis_commands_total",
      "Redis calls completed, by server and outcome (ok, error_reply, timeout, connection, "
      "protocol).",
      {"server", "outcome"});
  ServerMetrics m;
  m.ok = commands.Get({server, "ok"});
  m.error_reply = commands.Get({server, "error_reply"});
  m.timeout = commands.Get({server, "timeout"});
  m.connection = commands.Get({server, "connection"});
  m.protocol = commands.Get({server, "protocol"});
  m.duration = registry
                   .AddHistogram("keel_redis_command_duration_seconds",
                                 "Time from Exec to the reply (replies only).", {"server"})
                   .Get({server});
  m.inflight = registry
                   .AddGauge("keel_redis_inflight_commands",
                             "Redis calls waiting for their reply or timeout.", {"server"})
                   .Get({server});
  m.connections =
      registry.AddGauge("keel_redis_connections", "Redis connections up.", {"server"}).Get({server});
  m.connection_errors = registry
                            .AddCounter("keel_redis_connection_errors_total",
                                        "Redis connections that failed to open or were lost.",
                                        {"server"})
                            .Get({server});
  m.reconnects = registry
                     .AddCounter("keel_redis_reconnects_total",
                                 "Redis connections re-established after an error.", {"server"})
                     .Get({server});
  m.writes = registry
                 .AddCounter("keel_redis_writes_total",
                             "Socket writes to Redis (commands_total / writes_total is the mean "
                             "pipeline depth).",
                             {"server"})
                 .Get({server});
  m.late_replies = registry
                       .AddCounter("keel_redis_late_replies_total",
                                   "Replies that arrived after their call timed out (discarded).",
                                   {"server"})
                       .Get({server});
  return m;
}

ClusterMetrics ClusterMetrics::For(obs::Registry& registry) {
  auto& redirects = registry.AddCounter(
      "keel_redis_cluster_redirects_total",
      "Redis Cluster redirects followed (moved, ask) and calls failed after max_redirects "
      "(exhausted).",
      {"type"});
  auto& refreshes = registry.AddCounter("keel_redis_cluster_topology_refreshes_total",
                                        "Redis Cluster slot map refreshes, by result.", {"result"});
  ClusterMetrics m;
  m.moved = redirects.Get({"moved"});
  m.ask = redirects.Get({"ask"});
  m.exhausted = redirects.Get({"exhausted"});
  m.refresh_ok = refreshes.Get({"ok"});
  m.refresh_error = refreshes.Get({"error"});
  m.nodes = registry
                .AddGauge("keel_redis_cluster_primaries", "Primaries in the Redis Cluster slot map.")
                .Get({});
  return m;
}

}  // namespace keel::redis::internal
