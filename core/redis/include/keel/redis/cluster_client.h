// ClusterClient: a Redis Cluster client — one pipelining Client-like pool per
// primary, commands routed by key slot, redirects followed.
//
//   ClusterOptions options{.seeds = {"127.0.0.1:7000", "127.0.0.1:7001"},
//                          .command_timeout = std::chrono::milliseconds(5)};
//   auto cluster = ClusterClient::Create(io, options, obs::DefaultRegistry());
//   (*cluster)->Exec({"INCR", "{user:42}:hits"}, OnReply);
//
// Routing: by the slot (keel/redis/slot.h) of the command's first key (the
// first key after numkeys for EVAL/EVALSHA, CallOptions::routing_key when
// set); commands without a key go to any primary. All keys of a command must
// share a slot (use {hash tags}), as Redis Cluster requires.
//
// Topology: the slot map comes from CLUSTER SLOTS, asked of the known nodes
// in turn (seeds first) on start, and again — at most once per
// refresh_min_interval — after a MOVED, a CLUSTERDOWN or a connection error
// (a primary lost: its replica is promoted and the next refresh finds it).
// Until the first map arrives, commands go to any node and follow MOVED.
// MOVED updates the slot at once and retries on the new owner; ASK retries
// once on the named node after ASKING (same connection, same write). More
// than max_redirects redirects fail the call with ErrorKind kRedirects. A
// connection error is not retried (the command may have run): the call fails
// and the caller decides.
//
// Thread-safety, callbacks, destruction and the io_context: as Client
// (keel/redis/client.h). RefreshTopology and PrimaryFor are thread-safe too.
//
// Metrics: the per-server series of Client for every node, plus
// keel_redis_cluster_redirects_total{type=moved|ask|exhausted},
// keel_redis_cluster_topology_refreshes_total{result}, keel_redis_cluster_primaries.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/obs/metrics.h"
#include "keel/redis/executor.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace keel::redis {

struct ClusterOptions {
  std::vector<std::string> seeds;  // "host:port", at least one
  std::string username;
  std::string password;
  Duration connect_timeout = std::chrono::milliseconds(500);
  Duration command_timeout = std::chrono::seconds(1);
  std::size_t pool_size = 1;  // connections per node
  int max_redirects = 5;
  Duration refresh_min_interval = std::chrono::milliseconds(100);
  Duration refresh_timeout = std::chrono::seconds(1);  // one CLUSTER SLOTS call
  Duration reconnect_backoff_min = std::chrono::milliseconds(20);
  Duration reconnect_backoff_max = std::chrono::milliseconds(500);
};

class ClusterClient final : public Executor {
 public:
  // InvalidArgument for no seeds, a bad "host:port" or bad options.
  static StatusOr<std::unique_ptr<ClusterClient>> Create(boost::asio::io_context& io,
                                                         ClusterOptions options,
                                                         obs::Registry& registry);
  ~ClusterClient() override;
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Fetches the slot map now (or joins the fetch under way); `done` runs on
  // the io_context's thread with the outcome. For start-up checks and tests.
  void RefreshTopology(std::function<void(Status)> done);
  // "host:port" of the primary serving `slot` in the current map; "" when
  // none is known.
  std::string PrimaryFor(int slot) const;

  Duration command_timeout() const override;
  // PrimaryFor(KeySlot(key)).
  std::string ShardOf(std::string_view key) const override;

  class Impl;

 protected:
  void Submit(std::span<const std::string_view> args, const CallOptions& options,
              Callback done) override;

 private:
  explicit ClusterClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace keel::redis
