#include "json_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/base/units.h"

namespace keel::ratelimit {
namespace {

using namespace std::chrono_literals;

std::string Describe(const RateLimitInput& in) {
  std::string s = std::string(in.domain) + " hits=" + std::to_string(in.hits_addend);
  for (const DescriptorInput& d : in.descriptors) {
    s += " [";
    for (const DescriptorEntry& e : d.entries) s += std::string(e.key) + "=" + std::string(e.value) + ";";
    if (d.limit) s += " limit=" + std::to_string(d.limit->requests_per_unit) + "/" + std::string(EnvoyUnitName(d.limit->unit));
    if (d.hits) s += " hits=" + std::to_string(*d.hits);
    s += "]";
  }
  return s;
}

struct ParseCase {
  const char* body;
  const char* want;  // Describe() of the parsed input
};

TEST(JsonRequestParserTest, ReadsProto3JsonAsProtobufDoes) {
  const ParseCase cases[] = {
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"user","value":"u1"}]}]})", "api hits=1 [user=u1;]"},
      // snake_case and lowerCamelCase, integers as strings, 0 hits is 1.
      {R"({"domain":"api","hits_addend":3,"descriptors":[{"entries":[{"key":"a","value":"b"}]}]})",
       "api hits=3 [a=b;]"},
      {R"({"domain":"api","hitsAddend":"4","descriptors":[{"entries":[{"key":"a","value":"b"}]}]})",
       "api hits=4 [a=b;]"},
      {R"({"domain":"api","hitsAddend":0,"descriptors":[{"entries":[{"key":"a"}]}]})", "api hits=1 [a=;]"},
      // negative: a refund (HTTP only)
      {R"({"domain":"api","hits_addend":-2,"descriptors":[{"entries":[{"key":"a","value":""}]}]})",
       "api hits=-2 [a=;]"},
      // several entries and descriptors; per-descriptor hits (0 queries) and limit overrides
      {R"({"domain":"d","descriptors":[{"entries":[{"key":"a","value":"1"},{"key":"b","value":"2"}]},
          {"entries":[{"key":"c","value":"3"}],"hitsAddend":0,
           "limit":{"requestsPerUnit":5,"unit":"MINUTE"}}]})",
       "d hits=1 [a=1;b=2;] [c=3; limit=5/MINUTE hits=0]"},
      {R"({"domain":"d","descriptors":[{"entries":[{"key":"c","value":"3"}],
           "limit":{"requests_per_unit":"7","unit":7},"hits_addend":"2"}]})",
       "d hits=1 [c=3; limit=7/WEEK hits=2]"},
      // null is the default; unknown fields are skipped, whatever they hold
      {R"({"domain":"api","hits_addend":null,"extra":{"x":[1,2,{"y":null}]},
           "descriptors":[{"entries":[{"key":"a","value":null,"z":1}],"limit":null,"other":"s"}]})",
       "api hits=1 [a=;]"},
      // escapes are decoded
      {R"({"domain":"a\u0070i","descriptors":[{"entries":[{"key":"p","value":"\/login\n"}]}]})",
       "api hits=1 [p=/login\n;]"},
      {" \n{\"domain\":\"api\",\"descriptors\":[{\"entries\":[{\"key\":\"a\",\"value\":\"b\"}]}]}\n ",
       "api hits=1 [a=b;]"},
  };
  JsonRequestParser parser;
  RateLimitInput input;
  for (const ParseCase& c : cases) {
    Status st = parser.Parse(c.body, &input);
    ASSERT_TRUE(st.ok()) << c.body << ": " << st.message();
    EXPECT_EQ(Describe(input), c.want) << c.body;
  }
}

struct ErrorCase {
  const char* body;
  const char* want;  // a substring of the error
};

TEST(JsonRequestParserTest, ExplainsWhatIsWrong) {
  const ErrorCase cases[] = {
      {"", "not valid JSON"},
      {"{not json", "not valid JSON"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a","value":"b"}]}]} trailing)", "not valid JSON"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a","value":"b"}]}]}{})", "trailing content"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a","value":"b"}]}])", "not valid JSON"},
      {R"([1,2])", "must be a JSON object"},
      {R"("text")", "must be a JSON object"},
      {R"({"descriptors":[{"entries":[{"key":"a"}]}]})", "domain: required string"},
      {R"({"descriptors":[]})", "domain: required string"},  // the domain is named first
      {R"({"domain":5,"descriptors":[{"entries":[{"key":"a"}]}]})", "domain: required string"},
      {R"({"domain":"api"})", "descriptors: required list"},
      {R"({"domain":"api","descriptors":{}})", "descriptors: required list"},
      {R"({"domain":"api","descriptors":[7]})", "descriptors[0]: expected an object"},
      {R"({"domain":"api","descriptors":[{}]})", "descriptors[0].entries: required non-empty list"},
      {R"({"domain":"api","descriptors":[{"entries":[]}]})", "descriptors[0].entries: required non-empty list"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a"}]},{"entries":[{"key":1}]}]})",
       "descriptors[1].entries: each needs a string key and value"},
      {R"({"domain":"api","descriptors":[{"entries":[{"value":"v"}]}]})", "each needs a string key"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a","value":2}]}]})", "each needs a string key"},
      {R"({"domain":"api","descriptors":[{"entries":["a"]}]})", "each needs a string key"},
      {R"({"domain":"api","hits_addend":1.5,"descriptors":[{"entries":[{"key":"a"}]}]})",
       "hits_addend: expected an integer"},
      {R"({"domain":"api","hits_addend":"x","descriptors":[{"entries":[{"key":"a"}]}]})",
       "hits_addend: expected an integer"},
      {R"({"domain":"api","hits_addend":99999999999999999999,"descriptors":[{"entries":[{"key":"a"}]}]})",
       "hits_addend: expected an integer"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a"}],"hits_addend":true}]})",
       "descriptors[0].hits_addend: expected an integer"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a"}],"limit":{"unit":"SECOND"}}]})",
       "descriptors[0].limit: needs requests_per_unit and unit"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a"}],"limit":{"requests_per_unit":-1,"unit":"SECOND"}}]})",
       "limit.requests_per_unit: out of range"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a"}],"limit":{"requests_per_unit":4294967296,"unit":1}}]})",
       "limit.requests_per_unit: out of range"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a"}],"limit":{"requests_per_unit":1,"unit":"FORTNIGHT"}}]})",
       "descriptors[0].limit.unit: unknown unit"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a"}],"limit":{"requests_per_unit":1,"unit":0}}]})",
       "descriptors[0].limit.unit: unknown unit"},
      {R"({"domain":"api","descriptors":[{"entries":[{"key":"a"}],"limit":"fast"}]})",
       "descriptors[0].limit: needs"},
  };
  JsonRequestParser parser;
  RateLimitInput input;
  for (const ErrorCase& c : cases) {
    Status st = parser.Parse(c.body, &input);
    ASSERT_FALSE(st.ok()) << c.body;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(st.message().find(c.want), std::string::npos) << c.body << " -> " << st.message();
  }
}

TEST(JsonRequestParserTest, LeavesEmptyDomainAndDescriptorsToTheLimiter) {
  // Limiter::Decide refuses them with the words the gRPC front end uses.
  JsonRequestParser parser;
  RateLimitInput input;
  ASSERT_TRUE(parser.Parse(R"({"domain":"","descriptors":[{"entries":[{"key":"a"}]}]})", &input).ok());
  EXPECT_TRUE(input.domain.empty());
  ASSERT_TRUE(parser.Parse(R"({"domain":"api","descriptors":[]})", &input).ok());
  EXPECT_TRUE(input.descriptors.empty());
}

TEST(JsonRequestParserTest, BoundsDescriptorsAndEntries) {
  std::string many = R"({"domain":"api","descriptors":[)";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + R"({"entries":[{"key":"a"}]})";
  many += "]}";
  JsonRequestParser parser;
  RateLimitInput input;
  Status st = parser.Parse(many, &input);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("at most 64"), std::string::npos) << st.message();

  std::string wide = R"({"domain":"api","descriptors":[{"entries":[)";
  for (int i = 0; i < 65; ++i) wide += std::string(i ? "," : "") + R"({"key":"a"})";
  wide += "]}]}";
  st = parser.Parse(wide, &input);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("descriptors[0].entries: at most 64"), std::string::npos) << st.message();
}

TEST(JsonRequestParserTest, ReusesItsInputAcrossRequests) {
  JsonRequestParser parser;
  RateLimitInput input;
  ASSERT_TRUE(parser.Parse(R"({"domain":"a","descriptors":[{"entries":[{"key":"x","value":"1"},{"key":"y"}],
      "limit":{"requests_per_unit":1,"unit":"SECOND"},"hits_addend":5},{"entries":[{"key":"z"}]}]})",
                           &input)
                  .ok());
  ASSERT_EQ(input.descriptors.size(), 2u);
  // A smaller request leaves nothing of the bigger one behind.
  ASSERT_TRUE(parser.Parse(R"({"domain":"b","descriptors":[{"entries":[{"key":"k","value":"v"}]}]})", &input).ok());
  EXPECT_EQ(Describe(input), "b hits=1 [k=v;]");
}

TEST(ResponseJsonTest, WritesProto3JsonWithDefaultsOmitted) {
  LimitRule named;
  named.spec.unit = Unit::kMinute;
  named.spec.requests_per_unit = 100;
  named.name = "login \"daily\"";
  LimitRule deny;
  deny.spec.unit = Unit::kHour;
  deny.spec.requests_per_unit = 0;

  RateLimitOutput out;
  out.overall_code = ResponseCode::kOverLimit;
  out.statuses.resize(4);
  out.statuses[0].current_limit = &named;
  out.statuses[0].limit_remaining = 42;
  out.statuses[0].duration_until_reset = 1500ms;
  out.statuses[1].code = ResponseCode::kOverLimit;
  out.statuses[1].current_limit = &deny;
  out.statuses[1].duration_until_reset = 3600s;
  out.statuses[2].overridden = true;
  out.statuses[2].override_limit = {7, Unit::kWeek};
  out.statuses[2].limit_remaining = 6;
  out.statuses[2].duration_until_reset = std::chrono::nanoseconds(1);
  // statuses[3]: no rule applies: just OK.

  std::string body = "kept:";
  AppendResponseJson(out, &body);
  ASSERT_EQ(body.substr(0, 5), "kept:");
  const auto doc = nlohmann::json::parse(body.substr(5));
  const auto want = nlohmann::json::parse(R"({"overallCode":"OVER_LIMIT","statuses":[
      {"code":"OK","currentLimit":{"requestsPerUnit":100,"unit":"MINUTE","name":"login \"daily\""},
       "limitRemaining":42,"durationUntilReset":"1.500s"},
      {"code":"OVER_LIMIT","currentLimit":{"unit":"HOUR"},"durationUntilReset":"3600s"},
      {"code":"OK","currentLimit":{"requestsPerUnit":7,"unit":"WEEK"},"limitRemaining":6,
       "durationUntilReset":"0.000000001s"},
      {"code":"OK"}]})");
  EXPECT_EQ(doc, want) << body;
}

TEST(ResponseJsonTest, WritesAnEmptyStatusList) {
  RateLimitOutput out;
  std::string body;
  AppendResponseJson(out, &body);
  EXPECT_EQ(body, R"({"overallCode":"OK","statuses":[]})");
}

TEST(DurationJsonTest, MatchesProtobufsFormat) {
  const std::pair<Duration, const char*> cases[] = {
      {0s, "0s"},
      {60s, "60s"},
      {250ms, "0.250s"},
      {-1500ms, "-1.500s"},
      {1001us, "0.001001s"},
      {std::chrono::nanoseconds(1'000'000'001), "1.000000001s"},
      // Found by ratelimit_json_fuzz: negating the most negative value overflowed.
      {Duration::min(), "-9223372036.854775808s"},
      {Duration::max(), "9223372036.854775807s"}};
  for (const auto& [d, want] : cases) {
    std::string s;
    AppendDurationJson(d, &s);
    EXPECT_EQ(s, want);
  }
}

}  // namespace
}  // namespace keel::ratelimit
