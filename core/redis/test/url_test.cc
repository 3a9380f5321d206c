#include "keel/redis/url.h"

#include <gtest/gtest.h>

namespace keel::redis {
namespace {

TEST(RedisUrlTest, OneServerWithDefaults) {
  auto u = ParseRedisUrl("redis://127.0.0.1");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_FALSE(u->cluster);
  ASSERT_EQ(u->hosts.size(), 1u);
  EXPECT_EQ(u->hosts[0].host, "127.0.0.1");
  EXPECT_EQ(u->hosts[0].port, 6379);
  EXPECT_EQ(u->db, 0);
  EXPECT_TRUE(u->password.empty());
}

TEST(RedisUrlTest, PasswordUserAndDb) {
  auto u = ParseRedisUrl("redis://:s%40cret@localhost:7000/3");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->password, "s@cret");
  EXPECT_TRUE(u->username.empty());
  EXPECT_EQ(u->hosts[0].host, "localhost");
  EXPECT_EQ(u->hosts[0].port, 7000);
  EXPECT_EQ(u->db, 3);
  auto acl = ParseRedisUrl("redis://limiter:pw@10.0.0.5:6380");
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(acl->username, "limiter");
  EXPECT_EQ(acl->password, "pw");
}

TEST(RedisUrlTest, ClusterSeeds) {
  auto u = ParseRedisUrl("redis-cluster://127.0.0.1:7000,127.0.0.1:7001,[::1]:7002");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_TRUE(u->cluster);
  EXPECT_EQ(u->Addresses(),
            (std::vector<std::string>{"127.0.0.1:7000", "127.0.0.1:7001", "[::1]:7002"}));
}

TEST(RedisUrlTest, BadUrlsAreNamed) {
  struct Case {
    const char* url;
    const char* says;
  } cases[] = {
      {"http://x:1", "expected redis://"},
      {"rediss://x:1", "TLS"},
      {"redis://", "missing host"},
      {"redis://x:0", "bad port"},
      {"redis://x:70000", "bad port"},
      {"redis://x:port", "bad port"},
      {"redis://x:1/db", "bad db"},
      {"redis://a:1,b:2", "one host"},
      {"redis-cluster://a:1/2", "db 0"},
      {"redis://:%4@x:1", "percent-escape"},
      {"redis-cluster://a:1,,b:2", "missing host"},
  };
  for (const Case& c : cases) {
    auto u = ParseRedisUrl(c.url);
    ASSERT_FALSE(u.ok()) << c.url;
    EXPECT_NE(u.status().message().find(c.says), std::string::npos) << c.url << ": " << u.status().message();
  }
}

}  // namespace
}  // namespace keel::redis
