// Redis server addresses as URLs, the form every Keel service takes in its
// `redis.url` key:
//
//   redis://HOST:PORT                       one server (port default 6379)
//   redis://:PASSWORD@HOST:PORT/DB          with AUTH and SELECT
//   redis://USER:PASSWORD@HOST:PORT         ACL user
//   redis-cluster://H1:P1,H2:P2,...         Redis Cluster seeds
//
// Percent-escapes (%40 for '@', ...) are decoded in the user and password.
// TLS (rediss://) is not supported: the client speaks plain TCP.
//
//   auto url = ParseRedisUrl("redis://:s3cret@127.0.0.1:6379/2");
//   ClientOptions o{.host = url->hosts[0].host, .port = url->hosts[0].port,
//                   .password = url->password, .db = url->db};
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"

namespace keel::redis {

struct RedisUrl {
  struct Host {
    std::string host;
    std::uint16_t port = 6379;
  };
  bool cluster = false;     // redis-cluster://
  std::vector<Host> hosts;  // one for redis://, the seeds for redis-cluster://
  std::string username;
  std::string password;
  int db = 0;  // redis:// only

  // "host:port" of each host.
  std::vector<std::string> Addresses() const;
};

// InvalidArgument naming what is wrong: another scheme (rediss:// says TLS is
// not supported), no host, a bad port, a bad db, a db with a cluster.
StatusOr<RedisUrl> ParseRedisUrl(std::string_view url);

}  // namespace keel::redis
