// The HTTP admin API's routes, called through the router in process: the
// token, the JSON it reads and writes, and 4xx answers with JSON bodies for
// bad input. (tests/integration/test_ratelimit.py drives the same routes
// through a running `keel serve ratelimit`.)
#include "admin_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace keel::ratelimit {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kRules = R"(
domain: api
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 3, name: per_user}
)";

constexpr const char* kToken = "0123456789abcdef-token";

struct Answer {
  int status = 0;
  std::string body;
  json doc;  // the body parsed, when it is JSON
};

class AdminHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = RuleConfig::Parse(kRules, "rules.yaml");
    ASSERT_TRUE(cfg.ok()) << cfg.status().message();
    auto l = Limiter::Create(*cfg, {}, clock_, registry_);
    ASSERT_TRUE(l.ok());
    limiter_ = std::move(*l);
    clock_.Set(ManualClock::time_point(seconds(1000 * 60)));
    auto admin = std::make_shared<Admin>(*limiter_, AdminOptions{kToken, [] { return Status::Ok(); }}, registry_);
    ASSERT_TRUE(AddAdminHttpApi(router_, admin).ok());
  }

  Answer Call(net::Method method, std::string_view target, std::string_view body = "",
              std::string_view token = kToken) {
    std::vector<net::Header> headers;
    const std::string auth = "Bearer " + std::string(token);
    if (!token.empty()) headers.push_back({"Authorization", auth});
    net::Request req;
    req.method = method;
    req.target = target;
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    req.headers = &headers;
    req.body = body;
    std::vector<net::PathParam> params;
    net::Router::Match match = router_.Find(method, req.path, &params);
    EXPECT_NE(match.route, nullptr) << target;
    Answer a;
    if (!match.route) return a;
    req.params = &params;
    net::Response res;
    match.route->handler(req, res);
    a.status = res.status();
    a.body = res.body();
    if (res.content_type() == "application/json") {
      a.doc = json::parse(a.body, nullptr, false);
      EXPECT_FALSE(a.doc.is_discarded()) << a.body;
    }
    return a;
  }

  ResponseCode Decide(std::string_view user) {
    RateLimitInput in;
    in.domain = "api";
    in.descriptors.push_back({{{"user", user}}, std::nullopt, std::nullopt});
    RateLimitOutput out;
    EXPECT_TRUE(limiter_->Decide(in, &out).ok());
    return out.overall_code;
  }

  ManualClock clock_;
  obs::Registry registry_;
  std::unique_ptr<Limiter> limiter_;
  net::Router router_;
};

TEST_F(AdminHttpTest, EveryRouteWantsTheToken) {
  const std::vector<std::pair<net::Method, std::string_view>> routes = {
      {net::Method::kGet, "/v1/config"},     {net::Method::kPost, "/v1/config/reload"},
      {net::Method::kGet, "/v1/rules"},      {net::Method::kGet, "/v1/keys?domain=api&descriptor=user=a"},
      {net::Method::kDelete, "/v1/keys"},    {net::Method::kPut, "/v1/overrides"},
      {net::Method::kGet, "/v1/overrides"},  {net::Method::kDelete, "/v1/overrides"}};
  for (const auto& [method, target] : routes) {
    Answer none = Call(method, target, "", "");
    EXPECT_EQ(none.status, 401) << target;
    EXPECT_EQ(none.doc["error"], "missing bearer token") << target;
    EXPECT_EQ(Call(method, target, "", "not-the-token").status, 401) << target;
  }
}

TEST_F(AdminHttpTest, PutOverrideChangesDecisionsAndListsIt) {
  Answer put = Call(net::Method::kPut, "/v1/overrides",
                    R"({"domain": "api", "entries": [{"key": "user", "value": "vip"}],
                        "limit": {"unit": "minute", "requests_per_unit": 5, "algorithm": "token_bucket", "burst": 6},
                        "ttl": "10m"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.doc["rule"], "api.user");
  EXPECT_EQ(put.doc["expires_in"], "600s");
  EXPECT_EQ(put.doc["limit"], json::parse(R"({"unit": "minute", "requests_per_unit": 5,
                                              "algorithm": "token_bucket", "burst": 6})"));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(Decide("vip"), ResponseCode::kOk) << i;
  EXPECT_EQ(Decide("vip"), ResponseCode::kOverLimit);

  Answer list = Call(net::Method::kGet, "/v1/overrides");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.doc["overrides"].size(), 1u);
  EXPECT_EQ(list.doc["overrides"][0]["entries"], json::parse(R"([{"key": "user", "value": "vip"}])"));

  Answer state = Call(net::Method::kGet, "/v1/keys?domain=api&descriptor=user=vip");
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.doc["statuses"][0]["currentLimit"]["requestsPerUnit"], 5);

  EXPECT_EQ(Call(net::Method::kDelete, "/v1/overrides?domain=api&descriptor=user=vip").status, 204);
  EXPECT_EQ(Call(net::Method::kDelete, "/v1/overrides?domain=api&descriptor=user=vip").status, 404);
  EXPECT_TRUE(Call(net::Method::kGet, "/v1/overrides").doc["overrides"].empty());
}

TEST_F(AdminHttpTest, BadOverridesAre4xxWithJsonErrors) {
  struct Case {
    std::string body;
    int status;
    std::string error;
  };
  const std::string entries = R"("entries": [{"key": "user", "value": "x"}])";
  const std::vector<Case> cases = {
      {"", 400, "body: expected a JSON object"},
      {"[1]", 400, "body: expected a JSON object"},
      {R"({"domain": "api", )" + entries + "}", 400, "limit: required"},
      {R"({"domain": "api", )" + entries + R"(, "limit": {"unit": "minute", "requests_per_unit": 1}, "x": 1})", 400,
       "x: unknown field"},
      {R"({"domain": "api", )" + entries + R"(, "limit": {"unit": "minute", "requests_per_unt": 1}})", 400,
       "limit.requests_per_unt: unknown field"},
      {R"({"domain": "api", )" + entries + R"(, "limit": {"unit": "fortnight", "requests_per_unit": 1}})", 400,
       "limit.unit: "},
      {R"({"domain": "api", )" + entries + R"(, "limit": {"unit": "minute", "requests_per_unit": -1}})", 400,
       "limit.requests_per_unit: expected an integer"},
      {R"({"domain": "api", )" + entries + R"(, "limit": {"unit": "minute", "requests_per_unit": 1, "algorithm": "leaky"}})",
       400, "limit.algorithm: "},
      {R"({"domain": "api", )" + entries + R"(, "limit": {"unit": "minute", "requests_per_unit": 1}, "ttl": "soon"})",
       400, "ttl: expected a positive duration"},
      {R"({"domain": "api", )" + entries + R"(, "limit": {"unit": "minute", "requests_per_unit": 1}, "ttl": 0})", 400,
       "ttl: expected a positive duration"},
      {R"({"domain": "api", "entries": [{"value": "x"}], "limit": {"unit": "minute", "requests_per_unit": 1}})", 400,
       "entries[0]: expected"},
      {R"({"domain": "", )" + entries + R"(, "limit": {"unit": "minute", "requests_per_unit": 1}})", 400,
       "domain: required"},
      {R"({"domain": "api", "entries": [{"key": "nope", "value": "x"}], "limit": {"unit": "minute", "requests_per_unit": 1}})",
       404, "no rule matches"},
  };
  for (const Case& c : cases) {
    Answer a = Call(net::Method::kPut, "/v1/overrides", c.body);
    EXPECT_EQ(a.status, c.status) << c.body;
    ASSERT_TRUE(a.doc.is_object()) << c.body;
    EXPECT_THAT(a.doc["error"].get<std::string>(), HasSubstr(c.error)) << c.body;
    EXPECT_EQ(a.doc["code"], c.status) << c.body;
  }
  Answer a = Call(net::Method::kDelete, "/v1/overrides?domain=api");
  EXPECT_EQ(a.status, 400);
  EXPECT_THAT(a.doc["error"].get<std::string>(), HasSubstr("need ?domain=D&descriptor="));
}

TEST_F(AdminHttpTest, RulesKeysAndReload) {
  Answer rules = Call(net::Method::kGet, "/v1/rules?domain=api");
  ASSERT_EQ(rules.status, 200);
  EXPECT_EQ(rules.doc["rules"][0], json::parse(R"({
      "domain": "api", "key": "api.user", "match": [{"key": "user", "value": ""}],
      "limits": [{"unit": "minute", "requests_per_unit": 3, "algorithm": "fixed_window", "name": "per_user"}],
      "unlimited": false, "shadow_mode": false, "detailed_metric": false, "replaces": []})"));
  EXPECT_EQ(Call(net::Method::kGet, "/v1/rules?domain=nope").status, 404);

  Decide("kim");
  EXPECT_EQ(Call(net::Method::kGet, "/v1/keys?domain=api&descriptor=user=kim").doc["statuses"][0]["limitRemaining"], 2);
  EXPECT_EQ(Call(net::Method::kDelete, "/v1/keys?domain=api&descriptor=user=kim").status, 204);
  EXPECT_EQ(Call(net::Method::kGet, "/v1/keys?domain=api&descriptor=user=kim").doc["statuses"][0]["limitRemaining"], 3);

  Answer reload = Call(net::Method::kPost, "/v1/config/reload");
  ASSERT_EQ(reload.status, 200);
  EXPECT_EQ(reload.doc, json::parse(R"({"reloaded": true, "rules": 1, "domains": 1})"));
  Answer config = Call(net::Method::kGet, "/v1/config");
  EXPECT_THAT(config.body, HasSubstr("requests_per_unit: 3"));
}

}  // namespace
}  // namespace keel::ratelimit
