#include "keel/redis/testing/redis_cluster.h"

#include <charconv>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "keel/base/clock.h"
#include "keel/redis/slot.h"
#include "keel/testing/process.h"

namespace keel::redis::testing {

using namespace keel::testing;  // NOLINT(google-build-using-namespace): process helpers

namespace {

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find(sep, start);
    const auto piece =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!piece.empty()) out.emplace_back(piece);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

int ToInt(std::string_view s) {
  int v = -1;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::vector<ClusterNode> ParseNodes(const std::string& text) {
  std::vector<ClusterNode> nodes;
  for (const std::string& line : Split(text, '\n')) {
    auto f = Split(line, ' ');
    if (f.size() < 8) continue;
    ClusterNode n;
    n.id = f[0];
    n.address = f[1].substr(0, f[1].find('@'));
    const auto flags = Split(f[2], ',');
    for (const auto& flag : flags) {
      if (flag == "master") n.primary = true;
      if (flag == "fail" || flag == "fail?") n.failed = true;
    }
    if (f[3] != "-") n.primary_id = f[3];
    for (std::size_t i = 8; i < f.size(); ++i) {
      if (f[i].empty() || f[i][0] == '[') continue;  // a migration in progress
      const auto dash = f[i].find('-');
      if (dash == std::string::npos) {
        n.slots.emplace_back(ToInt(f[i]), ToInt(f[i]));
      } else {
        n.slots.emplace_back(ToInt(std::string_view(f[i]).substr(0, dash)),
                             ToInt(std::string_view(f[i]).substr(dash + 1)));
      }
    }
    nodes.push_back(std::move(n));
  }
  return nodes;
}

StatusOr<std::vector<ClusterNode>> NodesOf(const RedisServer& server) {
  auto r = server.Call({"CLUSTER", "NODES"});
  if (!r.ok()) return r.status();
  if (r->type != ReplyType::kString) return Unavailable("CLUSTER NODES: " + r->DebugString());
  return ParseNodes(r->str);
}

}  // namespace

StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Start(RedisClusterOptions options) {
  std::unique_ptr<RedisCluster> cluster(new RedisCluster());
  auto dir = MakeTempDir("keel-redis-cluster-");
  if (!dir.ok()) return dir.status();
  cluster->dir_ = *dir;
  const int total = options.primaries * (1 + options.replicas_per_primary);
  std::vector<std::string> argv = {"/usr/bin/redis-cli", "--cluster", "create"};
  for (int i = 0; i < total; ++i) {
    RedisServerOptions so;
    so.cluster = true;
    so.cluster_node_timeout = options.node_timeout;
    auto server = RedisServer::Start(so);
    if (!server.ok()) return server.status();
    argv.push_back((*server)->address());
    cluster->servers_.push_back(std::move(*server));
  }
  argv.insert(argv.end(), {"--cluster-replicas", std::to_string(options.replicas_per_primary),
                           "--cluster-yes"});
  const std::string log = cluster->dir_ + "/create.log";
  auto code = Run(argv, log, options.ready_timeout);
  if (!code.ok()) return code.status();
  if (*code != 0) return Unavailable("redis-cli --cluster create failed: " + Tail(log));
  if (Status s = cluster->WaitHealthy(options.ready_timeout); !s.ok()) return s;
  if (Status s = cluster->WaitReplicasLinked(options.ready_timeout); !s.ok()) return s;
  return cluster;
}

RedisCluster::~RedisCluster() {
  servers_.clear();
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> RedisCluster::seeds() const {
  std::vector<std::string> out;
  for (const auto& s : servers_) out.push_back(s->address());
  return out;
}

RedisServer* RedisCluster::ServerAt(const std::string& address) {
  for (auto& s : servers_) {
    if (s->address() == address) return s.get();
  }
  return nullptr;
}

const RedisServer* RedisCluster::AnyRunning() const {
  for (const auto& s : servers_) {
    if (s->running()) return s.get();
  }
  return nullptr;
}

StatusOr<std::vector<ClusterNode>> RedisCluster::Nodes() const {
  const RedisServer* s = AnyRunning();
  if (s == nullptr) return Unavailable("no cluster node is running");
  return NodesOf(*s);
}

StatusOr<std::string> RedisCluster::PrimaryForSlot(int slot) const {
  auto nodes = Nodes();
  if (!nodes.ok()) return nodes.status();
  for (const auto& n : *nodes) {
    if (!n.primary) continue;
    for (const auto& [first, last] : n.slots) {
      if (slot >= first && slot <= last) return n.address;
    }
  }
  return NotFound("no primary serves slot " + std::to_string(slot));
}

StatusOr<std::string> RedisCluster::KillPrimaryForSlot(int slot) {
  auto address = PrimaryForSlot(slot);
  if (!address.ok()) return address.status();
  RedisServer* s = ServerAt(*address);
  if (s == nullptr) return NotFound("no server at " + *address);
  s->Kill();
  return *address;
}

Status RedisCluster::WaitHealthy(Duration timeout) const {
  const auto until = SystemClock::Default().Now() + timeout;
  std::string why;
  while (SystemClock::Default().Now() < until) {
    why.clear();
    std::set<std::string> running;
    for (const auto& s : servers_) {
      if (s->running()) running.insert(s->address());
    }
    for (const auto& s : servers_) {
      if (!s->running()) continue;
      auto info = s->Call({"CLUSTER", "INFO"});
      if (!info.ok() || info->str.find("cluster_state:ok") == std::string::npos) {
        why = s->address() + " not ok: " + (info.ok() ? info->str : info.status().message());
        break;
      }
      auto nodes = NodesOf(*s);
      if (!nodes.ok()) {
        why = nodes.status().message();
        break;
      }
      int served = 0;
      for (const auto& n : *nodes) {
        if (!n.primary || n.slots.empty()) continue;
        if (n.failed || running.count(n.address) == 0) {
          why = s->address() + " still maps slots to " + n.address;
          break;
        }
        for (const auto& [first, last] : n.slots) served += last - first + 1;
      }
      if (why.empty() && served != kClusterSlots) {
        why = s->address() + " sees " + std::to_string(served) + " slots served";
      }
      if (!why.empty()) break;
    }
    if (why.empty()) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Unavailable("redis cluster not healthy within " + FormatDuration(timeout) + ": " + why);
}

Status RedisCluster::WaitReplicasLinked(Duration timeout) const {
  const auto until = SystemClock::Default().Now() + timeout;
  std::string why;
  while (SystemClock::Default().Now() < until) {
    why.clear();
    for (const auto& s : servers_) {
      if (!s->running()) continue;
      auto info = s->Call({"INFO", "replication"});
      if (!info.ok()) {
        why = info.status().message();
        break;
      }
      if (info->str.find("role:slave") != std::string::npos &&
          info->str.find("master_link_status:up") == std::string::npos) {
        why = s->address() + " replica not linked";
        break;
      }
    }
    if (why.empty()) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Unavailable("redis cluster replicas not linked: " + why);
}

}  // namespace keel::redis::testing
