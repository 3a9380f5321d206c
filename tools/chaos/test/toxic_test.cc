#include "keel/chaos/toxic.h"

#include <gtest/gtest.h>

namespace keel::chaos {
namespace {

using nlohmann::json;

TEST(ChaosToxicTest, FillsToxiproxyDefaults) {
  auto t = ParseToxic(json{{"type", "latency"}, {"attributes", {{"latency", 100}}}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->name, "latency_downstream");
  EXPECT_EQ(t->stream, Stream::kDownstream);
  EXPECT_DOUBLE_EQ(t->toxicity, 1.0);
  EXPECT_EQ(t->attributes.latency, 100);
  EXPECT_EQ(t->attributes.jitter, 0);
}

TEST(ChaosToxicTest, ReadsEveryTypesAttributes) {
  struct Case {
    const char* body;
    const char* want_attributes;
  };
  const Case cases[] = {
      {R"({"type":"latency","attributes":{"latency":5,"jitter":2}})", R"({"jitter":2,"latency":5})"},
      {R"({"type":"bandwidth","attributes":{"rate":100}})", R"({"rate":100})"},
      {R"({"type":"slow_close","attributes":{"delay":50}})", R"({"delay":50})"},
      {R"({"type":"timeout","attributes":{"timeout":0}})", R"({"timeout":0})"},
      {R"({"type":"reset_peer","attributes":{"timeout":10}})", R"({"timeout":10})"},
      {R"({"type":"slicer","attributes":{"average_size":64,"size_variation":8,"delay":10}})",
       R"({"average_size":64,"delay":10,"size_variation":8})"},
      {R"({"type":"limit_data","attributes":{"bytes":1000,"unknown":1}})", R"({"bytes":1000})"},
  };
  for (const Case& c : cases) {
    auto t = ParseToxic(json::parse(c.body));
    ASSERT_TRUE(t.ok()) << c.body;
    EXPECT_EQ(ToxicToJson(*t)["attributes"], json::parse(c.want_attributes)) << c.body;
  }
}

TEST(ChaosToxicTest, RejectsBadInputWithToxiproxyMessages) {
  struct Case {
    json body;
    int status;
    std::string error_prefix;
  };
  const Case cases[] = {
      {json::array(), 400, "bad request body"},
      {json{{"type", "nope"}}, 400, "invalid toxic type"},
      {json{{"type", "latency"}, {"stream", "sideways"}}, 400, "stream was invalid"},
      {json{{"type", "latency"}, {"attributes", {{"latency", "100"}}}}, 400, "bad request body"},
      {json{{"type", "latency"}, {"attributes", {{"latency", 1.5}}}}, 400, "bad request body"},
      {json{{"type", "latency"}, {"attributes", {{"latency", -1}}}}, 400, "bad request body"},
      {json{{"type", "latency"}, {"toxicity", 1.5}}, 400, "bad request body"},
      {json{{"type", "slicer"}, {"attributes", {{"average_size", 0}}}}, 400, "bad request body"},
      {json{{"type", 3}}, 400, "bad request body"},
  };
  for (const Case& c : cases) {
    auto t = ParseToxic(c.body);
    ASSERT_FALSE(t.ok()) << c.body;
    EXPECT_EQ(t.error().status, c.status) << c.body;
    EXPECT_EQ(t.error().body["status"], c.status);
    EXPECT_EQ(t.error().body["error"].get<std::string>().rfind(c.error_prefix, 0), 0u)
        << t.error().body;
  }
}

TEST(ChaosToxicTest, UpdateMergesAttributesAndKeepsToxicity) {
  auto t = ParseToxic(json{{"type", "latency"}, {"toxicity", 0.5},
                           {"attributes", {{"latency", 100}, {"jitter", 5}}}});
  ASSERT_TRUE(t.ok());
  auto u = UpdateToxic(*t, json{{"attributes", {{"latency", 200}}}});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->attributes.latency, 200);
  EXPECT_EQ(u->attributes.jitter, 5);
  EXPECT_DOUBLE_EQ(u->toxicity, 0.5);
  EXPECT_EQ(u->name, "latency_downstream");
  EXPECT_FALSE(UpdateToxic(*t, json{{"attributes", {{"latency", -3}}}}).ok());
}

TEST(ChaosToxicTest, SerializesLikeToxiproxy) {
  auto t = ParseToxic(json{{"name", "slow"}, {"type", "bandwidth"}, {"stream", "upstream"},
                           {"toxicity", 0.25}, {"attributes", {{"rate", 10}}}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ToxicToJson(*t), json::parse(R"({"attributes":{"rate":10},"name":"slow",
      "type":"bandwidth","stream":"upstream","toxicity":0.25})"));
}

}  // namespace
}  // namespace keel::chaos
