#include "keel/net/http_message.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace keel::net {
namespace {

TEST(HttpMessageTest, ParsesMethodNamesCaseSensitively) {
  const struct {
    std::string_view name;
    Method method;
  } cases[] = {
      {"GET", Method::kGet},       {"HEAD", Method::kHead},       {"POST", Method::kPost},
      {"PUT", Method::kPut},       {"DELETE", Method::kDelete},   {"PATCH", Method::kPatch},
      {"OPTIONS", Method::kOptions}, {"get", Method::kOther},     {"Get", Method::kOther},
      {"", Method::kOther},        {"CONNECT", Method::kOther},   {"TRACE", Method::kOther},
      {"GETS", Method::kOther},    {"PUTT", Method::kOther},      {"BREW", Method::kOther},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseMethod(c.name), c.method) << c.name;
  }
}

TEST(HttpMessageTest, MethodLabelRoundTripsAndBoundsUnknown) {
  const Method known[] = {Method::kGet,    Method::kHead,  Method::kPost,   Method::kPut,
                          Method::kDelete, Method::kPatch, Method::kOptions};
  for (Method m : known) EXPECT_EQ(ParseMethod(MethodLabel(m)), m) << MethodLabel(m);
  EXPECT_EQ(MethodLabel(Method::kOther), "OTHER");
  EXPECT_EQ(MethodLabel(ParseMethod("PROPFIND")), "OTHER");
}

TEST(HttpMessageTest, SetErrorWritesJsonBody) {
  const struct {
    int status;
    std::string message;
  } cases[] = {
      {404, "no route for this path"},
      {400, "bad \"quote\" and \\backslash\\"},
      {500, "line\nbreak\ttab\r\x01"},
      {431, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    Response res;
    res.SetError(c.status, c.message);
    EXPECT_EQ(res.status(), c.status);
    EXPECT_EQ(res.content_type(), "application/json");
    nlohmann::json body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body.size(), 2u);
    EXPECT_EQ(body.at("error").get<std::string>(), c.message);
    EXPECT_EQ(body.at("code").get<int>(), c.status);
  }
}

TEST(HttpMessageTest, SetErrorReplacesPreviousBody) {
  Response res;
  res.body() = "partial output";
  res.SetError(503, "draining");
  EXPECT_EQ(res.body(), R"({"error":"draining","code":503})");
}

TEST(HttpMessageTest, ResetRestoresDefaultsAndReusesHeaderSlots) {
  Response res;
  res.set_status(201);
  res.set_content_type("text/plain");
  res.body() = "created";
  res.set_close();
  res.add_header("X-A", "1");
  res.add_header("X-B", "2");
  ASSERT_EQ(res.header_count(), 2u);

  res.Reset();
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.content_type(), "");
  EXPECT_EQ(res.body(), "");
  EXPECT_FALSE(res.close());
  EXPECT_EQ(res.header_count(), 0u);

  res.add_header("X-C", "3");
  ASSERT_EQ(res.header_count(), 1u);
  EXPECT_EQ(res.headers()[0].first, "X-C");
  EXPECT_EQ(res.headers()[0].second, "3");
  // The second slot is kept for reuse, not freed.
  EXPECT_EQ(res.headers().size(), 2u);
  res.add_header("X-D", "4");
  res.add_header("X-E", "5");
  ASSERT_EQ(res.header_count(), 3u);
  EXPECT_EQ(res.headers()[1], (std::pair<std::string, std::string>{"X-D", "4"}));
  EXPECT_EQ(res.headers()[2], (std::pair<std::string, std::string>{"X-E", "5"}));
}

TEST(HttpMessageTest, ReasonPhrases) {
  const struct {
    int status;
    std::string_view phrase;
  } cases[] = {
      {100, "Continue"},
      {200, "OK"},
      {204, "No Content"},
      {400, "Bad Request"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {413, "Content Too Large"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
      {505, "HTTP Version Not Supported"},
      {299, "Unknown"},
      {0, "Unknown"},
      {-1, "Unknown"},
  };
  for (const auto& c : cases) EXPECT_EQ(ReasonPhrase(c.status), c.phrase) << c.status;
}


TEST(HttpMessageTest, HeaderLookupIsCaseInsensitiveAndReturnsFirst) {
  const std::vector<Header> headers = {
      {"Content-Type", "text/plain"}, {"X-Dup", "first"}, {"x-dup", "second"}};
  Request req;
  EXPECT_EQ(req.header("content-type"), "");  // no headers attached
  req.headers = &headers;
  EXPECT_EQ(req.header("content-type"), "text/plain");
  EXPECT_EQ(req.header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(req.header("x-dup"), "first");
  EXPECT_EQ(req.header("Content-Typ"), "");
  EXPECT_EQ(req.header("Content-Type-X"), "");
}

}  // namespace
}  // namespace keel::net
