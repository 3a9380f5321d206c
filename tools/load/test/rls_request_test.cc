#include "keel/load/rls_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keel/load/load_engine.h"

namespace keel::load {
namespace {

std::string Rendered(const Template& t) {
  Rng rng(1);
  std::string out;
  t.Render(TemplateContext{7, &rng}, &out);
  return out;
}

TEST(ParseDescriptorTest, ParsesEntriesInOrder) {
  struct Case {
    std::string text;
    std::vector<std::pair<std::string, std::string>> want;  // key, rendered value at seq 7
  };
  const Case cases[] = {
      {"k=v", {{"k", "v"}}},
      {"k=v,k2=w", {{"k", "v"}, {"k2", "w"}}},
      {"path=/a=b", {{"path", "/a=b"}}},  // the value is everything after the first '='
      {"k=", {{"k", ""}}},
      {"user={{seq}},k=x", {{"user", "7"}, {"k", "x"}}},
  };
  for (const Case& c : cases) {
    auto d = ParseDescriptor(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().message();
    ASSERT_EQ(d->size(), c.want.size()) << c.text;
    for (std::size_t i = 0; i < c.want.size(); ++i) {
      EXPECT_EQ((*d)[i].key, c.want[i].first) << c.text;
      EXPECT_EQ(Rendered((*d)[i].value), c.want[i].second) << c.text;
    }
  }
}

TEST(ParseDescriptorTest, TemplatedValuesAreNotStatic) {
  auto d = ParseDescriptor("k=v,user={{zipf:1.1:100000}}");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE((*d)[0].value.is_static());
  EXPECT_FALSE((*d)[1].value.is_static());
  const auto v = std::stoll(Rendered((*d)[1].value));
  EXPECT_GE(v, 1);
  EXPECT_LE(v, 100000);
}

TEST(ParseDescriptorTest, RejectsMalformedEntries) {
  struct Case {
    std::string text;
    std::string error_has;
  };
  const Case cases[] = {
      {"", "empty descriptor"},
      {"novalue", "'novalue': expected key=value"},
      {"=v", "'=v': empty key"},
      {"k=v,", "'': expected key=value"},
      {"k=v,,k2=w", "'': expected key=value"},
      {"k={{zipf:x:10}}", "'k={{zipf:x:10}}'"},
      {"k={{nope}}", "'k={{nope}}'"},
  };
  for (const Case& c : cases) {
    auto d = ParseDescriptor(c.text);
    ASSERT_FALSE(d.ok()) << c.text;
    EXPECT_NE(d.status().message().find(c.error_has), std::string::npos)
        << c.text << ": " << d.status().message();
  }
}

TEST(ParseUrlTest, ParsesRlsTargets) {
  auto t = ParseUrl("rls://127.0.0.1:8081");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->protocol, Protocol::kRls);
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 8081);
  auto v6 = ParseUrl("rls://[::1]:9000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(ParseUrl("http://h:1/x")->protocol, Protocol::kHttp);
}

TEST(ParseUrlTest, RejectsRlsWithoutPortOrWithPath) {
  for (const char* url : {"rls://127.0.0.1", "rls://h:1/path", "rls://:1", "grpc://h:1"}) {
    EXPECT_FALSE(ParseUrl(url).ok()) << url;
  }
}

}  // namespace
}  // namespace keel::load
