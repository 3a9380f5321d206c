#include "keel/chaos/proxy_registry.h"

#include <gtest/gtest.h>

namespace keel::chaos {
namespace {

using nlohmann::json;

class ChaosRegistryTest : public ::testing::Test {
 protected:
  obs::Registry metrics_;
  ProxyRegistry proxies_{ChaosOptions{.threads = 1, .seed = 1, .version = "t"}, metrics_};

  json Create(const std::string& name) {
    ApiReply r = proxies_.CreateProxy(
        json{{"name", name}, {"listen", "127.0.0.1:0"}, {"upstream", "127.0.0.1:9"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.body;
  }
};

TEST_F(ChaosRegistryTest, CreateReportsBoundPortAndRejectsDuplicates) {
  json p = Create("a");
  EXPECT_NE(p["listen"], "127.0.0.1:0");
  EXPECT_EQ(p["listen"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(p["toxics"], json::array());
  ApiReply dup = proxies_.CreateProxy(json{{"name", "a"}, {"upstream", "127.0.0.1:9"}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.body, json::parse(R"({"error":"proxy already exists","status":409})"));
}

TEST_F(ChaosRegistryTest, UnknownProxyAndToxicAre404) {
  EXPECT_EQ(proxies_.GetProxy("nope").status, 404);
  EXPECT_EQ(proxies_.AddToxic("nope", json{{"type", "latency"}}).status, 404);
  Create("a");
  EXPECT_EQ(proxies_.GetToxic("a", "nope").status, 404);
  EXPECT_EQ(proxies_.RemoveToxic("a", "nope").body["error"], "toxic not found");
}

TEST_F(ChaosRegistryTest, ToxicsListUpstreamThenDownstreamInCreationOrder) {
  Create("a");
  for (const char* body : {R"({"name":"d1","type":"latency"})",
                           R"({"name":"u1","type":"slicer","stream":"upstream",
                               "attributes":{"average_size":10}})",
                           R"({"name":"d2","type":"bandwidth","attributes":{"rate":1}})",
                           R"({"name":"u2","type":"timeout","stream":"upstream"})"}) {
    EXPECT_EQ(proxies_.AddToxic("a", json::parse(body)).status, 200) << body;
  }
  json list = proxies_.ListToxics("a").body;
  std::vector<std::string> names;
  for (const auto& t : list) names.push_back(t["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"u1", "u2", "d1", "d2"}));
  EXPECT_EQ(proxies_.AddToxic("a", json::parse(R"({"name":"d1","type":"latency"})")).status, 409);
  EXPECT_EQ(proxies_.RemoveToxic("a", "u1").status, 204);
  EXPECT_EQ(proxies_.ListToxics("a").body.size(), 3u);
}

TEST_F(ChaosRegistryTest, DisableFreesPortAndEnableRebindsIt) {
  json p = Create("a");
  ApiReply off = proxies_.UpdateProxy("a", json{{"enabled", false}});
  ASSERT_EQ(off.status, 200);
  EXPECT_EQ(off.body["enabled"], false);
  ApiReply on = proxies_.UpdateProxy("a", json{{"enabled", true}});
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_EQ(on.body["listen"], p["listen"]);
}

TEST_F(ChaosRegistryTest, ResetEnablesEveryProxyAndRemovesEveryToxic) {
  Create("a");
  proxies_.AddToxic("a", json{{"type", "latency"}});
  proxies_.UpdateProxy("a", json{{"enabled", false}});
  EXPECT_EQ(proxies_.Reset().status, 204);
  json a = proxies_.GetProxy("a").body;
  EXPECT_EQ(a["enabled"], true);
  EXPECT_EQ(a["toxics"], json::array());
}

TEST_F(ChaosRegistryTest, PopulateCreatesAllAndKeepsUnchangedOnes) {
  json body = json::parse(R"([{"name":"a","upstream":"127.0.0.1:9"},
                              {"name":"b","upstream":"127.0.0.1:9","enabled":false}])");
  ApiReply r = proxies_.Populate(body);
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_EQ(r.body["proxies"].size(), 2u);
  EXPECT_EQ(r.body["proxies"][1]["enabled"], false);
  EXPECT_EQ(proxies_.ListProxies().body.size(), 2u);
  ApiReply bad = proxies_.Populate(json::parse(R"([{"name":"c"}])"));
  EXPECT_EQ(bad.status, 400);
}

TEST_F(ChaosRegistryTest, DeleteRemovesProxy) {
  Create("a");
  EXPECT_EQ(proxies_.DeleteProxy("a").status, 204);
  EXPECT_EQ(proxies_.DeleteProxy("a").status, 404);
  EXPECT_EQ(proxies_.ListProxies().body, json::object());
}

}  // namespace
}  // namespace keel::chaos
