// RedisCluster: a real Redis Cluster for tests — primaries + replicas, each a
// RedisServer with --cluster-enabled yes, joined by `redis-cli --cluster
// create ... --cluster-replicas N --cluster-yes`.
//
//   auto cluster = RedisCluster::Start();          // 3 primaries + 3 replicas
//   ClusterOptions options{.seeds = (*cluster)->seeds()};
//   auto killed = (*cluster)->KillPrimaryForSlot(KeySlot("k"));   // failover test
//   (*cluster)->WaitHealthy(std::chrono::seconds(20));
//
// Start() returns once every node reports cluster_state:ok with all 16384
// slots served and every replica's link to its primary is up, so a failover
// can be elected. The node timeout is 1 s (failover within a few seconds).
// Starting one takes a few seconds: share one per test binary
// (SetUpTestSuite).
//
// Thread-safety: none; use from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/redis/testing/redis_server.h"

namespace keel::redis::testing {

struct RedisClusterOptions {
  int primaries = 3;
  int replicas_per_primary = 1;
  Duration node_timeout = std::chrono::milliseconds(1000);
  Duration ready_timeout = std::chrono::seconds(60);
};

// One line of CLUSTER NODES.
struct ClusterNode {
  std::string id;
  std::string address;  // "127.0.0.1:port"
  bool primary = false;
  bool failed = false;  // flagged fail (or pfail)
  std::string primary_id;  // replicas: the primary they follow
  std::vector<std::pair<int, int>> slots;  // inclusive ranges
};

class RedisCluster {
 public:
  static StatusOr<std::unique_ptr<RedisCluster>> Start(RedisClusterOptions options = {});
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Every node's address (killed ones too): the client's seeds.
  std::vector<std::string> seeds() const;
  std::size_t size() const { return servers_.size(); }
  RedisServer& server(std::size_t i) { return *servers_[i]; }
  // The server listening on `address`; nullptr when none.
  RedisServer* ServerAt(const std::string& address);

  // CLUSTER NODES as seen by the first running node.
  StatusOr<std::vector<ClusterNode>> Nodes() const;
  // The address of the primary serving `slot` (as the first running node sees it).
  StatusOr<std::string> PrimaryForSlot(int slot) const;
  // SIGKILLs the primary serving `slot`; returns its address.
  StatusOr<std::string> KillPrimaryForSlot(int slot);
  // Waits until every running node says cluster_state:ok and all slots are
  // served by running primaries.
  Status WaitHealthy(Duration timeout) const;

 private:
  RedisCluster() = default;
  Status WaitReplicasLinked(Duration timeout) const;
  const RedisServer* AnyRunning() const;

  std::string dir_;
  std::vector<std::unique_ptr<RedisServer>> servers_;
};

}  // namespace keel::redis::testing
