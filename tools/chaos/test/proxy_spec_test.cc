#include "keel/chaos/proxy_spec.h"

#include <gtest/gtest.h>

namespace keel::chaos {
namespace {

using nlohmann::json;

TEST(ChaosProxySpecTest, RequiresNameAndUpstream) {
  auto no_name = ParseProxy(json{{"upstream", "127.0.0.1:1"}});
  ASSERT_FALSE(no_name.ok());
  EXPECT_EQ(no_name.error().status, 400);
  EXPECT_EQ(no_name.error().body["error"], "missing required field: name");
  auto no_upstream = ParseProxy(json{{"name", "a"}});
  ASSERT_FALSE(no_upstream.ok());
  EXPECT_EQ(no_upstream.error().body["error"], "missing required field: upstream");
}

TEST(ChaosProxySpecTest, DefaultsEnabledAndLoopbackListen) {
  auto p = ParseProxy(json{{"name", "a"}, {"upstream", "127.0.0.1:1"}});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->enabled);
  EXPECT_EQ(p->listen, "127.0.0.1:0");
  EXPECT_TRUE(p->toxics.empty());
}

TEST(ChaosProxySpecTest, ReadsToxicsExtensionInOrder) {
  auto p = ParseProxy(json::parse(R"({"name":"a","upstream":"h:1","toxics":[
      {"type":"latency","attributes":{"latency":1}},
      {"type":"latency","stream":"upstream","attributes":{"latency":2}}]})"));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->toxics.size(), 2u);
  EXPECT_EQ(p->toxics[0].name, "latency_downstream");
  EXPECT_EQ(p->toxics[1].name, "latency_upstream");
  auto dup = ParseProxy(json::parse(R"({"name":"a","upstream":"h:1","toxics":[
      {"type":"latency"},{"type":"latency"}]})"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().status, 409);
}

TEST(ChaosProxySpecTest, ListAcceptsArrayOrProxiesObject) {
  const char* bodies[] = {R"([{"name":"a","upstream":"h:1"},{"name":"b","upstream":"h:2"}])",
                          R"({"proxies":[{"name":"a","upstream":"h:1"},{"name":"b","upstream":"h:2"}]})"};
  for (const char* body : bodies) {
    auto list = ParseProxyList(json::parse(body));
    ASSERT_TRUE(list.ok()) << body;
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[1].name, "b");
  }
  auto bad = ParseProxyList(json::parse(R"([{"name":"a","upstream":"h:1"},{"name":"b"}])"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().body["error"], "missing required field: upstream at proxy 2");
  EXPECT_FALSE(ParseProxyList(json{{"name", "a"}}).ok());
}

TEST(ChaosProxySpecTest, UpdateKeepsAbsentFieldsAndName) {
  ProxySpec cur{"a", "127.0.0.1:5000", "127.0.0.1:6000", true, {}};
  auto u = UpdateProxy(cur, json{{"enabled", false}, {"name", "other"}});
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->enabled);
  EXPECT_EQ(u->name, "a");
  EXPECT_EQ(u->listen, "127.0.0.1:5000");
  EXPECT_FALSE(UpdateProxy(cur, json{{"enabled", "no"}}).ok());
}

}  // namespace
}  // namespace keel::chaos
