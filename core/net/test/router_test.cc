#include "keel/net/router.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace keel::net {
namespace {

// A handler that records which route ran, so tests can tell routes apart.
Handler Tag(std::string tag) {
  return [tag = std::move(tag)](const Request&, Response& res) { res.body() = tag; };
}

std::string TagOf(const Router::Match& m) {
  Response res;
  m.route->handler(Request{}, res);
  return res.body();
}

TEST(RouterTest, MatchesRoutesAndExtractsParams) {
  Router router;
  ASSERT_TRUE(router.Add(Method::kGet, "/", Tag("root")).ok());
  ASSERT_TRUE(router.Add(Method::kGet, "/hello", Tag("hello")).ok());
  ASSERT_TRUE(router.Add(Method::kGet, "/users/{id}", Tag("user")).ok());
  ASSERT_TRUE(router.Add(Method::kGet, "/users/{id}/posts/{post}", Tag("post")).ok());
  ASSERT_TRUE(router.Add(Method::kPost, "/users/{id}", Tag("user-post")).ok());

  const struct {
    Method method;
    std::string_view path;
    std::string tag;
    std::vector<PathParam> params;
  } cases[] = {
      {Method::kGet, "/", "root", {}},
      {Method::kGet, "/hello", "hello", {}},
      {Method::kGet, "/users/42", "user", {{"id", "42"}}},
      {Method::kPost, "/users/42", "user-post", {{"id", "42"}}},
      {Method::kGet, "/users/7/posts/abc", "post", {{"id", "7"}, {"post", "abc"}}},
      {Method::kGet, "/users/%20", "user", {{"id", "%20"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(MethodLabel(c.method)) + " " + std::string(c.path));
    std::vector<PathParam> params;
    Router::Match m = router.Find(c.method, c.path, &params);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(TagOf(m), c.tag);
    EXPECT_EQ(&router.routes()[static_cast<std::size_t>(m.route_index)], m.route);
    EXPECT_EQ(params, c.params);
    Request req;
    req.params = &params;
    for (const auto& [name, value] : c.params) EXPECT_EQ(req.param(name), value);
    EXPECT_EQ(req.param("missing"), "");
  }
}

TEST(RouterTest, ReportsNoMatchForUnknownPaths) {
  Router router;
  ASSERT_TRUE(router.Add(Method::kGet, "/hello", Tag("hello")).ok());
  ASSERT_TRUE(router.Add(Method::kGet, "/users/{id}", Tag("user")).ok());
  const std::string_view paths[] = {
      "/nope", "/hello/extra", "/hell", "/users", "/users/", "/users/1/2", "", "hello", "//hello",
  };
  for (std::string_view path : paths) {
    SCOPED_TRACE(path);
    std::vector<PathParam> params;
    Router::Match m = router.Find(Method::kGet, path, &params);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_EQ(m.route_index, -1);
    EXPECT_FALSE(m.path_matched);
  }
}

TEST(RouterTest, TrailingSlashIsAPathOfItsOwn) {
  Router router;
  ASSERT_TRUE(router.Add(Method::kGet, "/a", Tag("a")).ok());
  ASSERT_TRUE(router.Add(Method::kGet, "/b/", Tag("b/")).ok());
  std::vector<PathParam> params;
  EXPECT_NE(router.Find(Method::kGet, "/a", &params).route, nullptr);
  EXPECT_EQ(router.Find(Method::kGet, "/a/", &params).route, nullptr);
  EXPECT_NE(router.Find(Method::kGet, "/b/", &params).route, nullptr);
  EXPECT_EQ(router.Find(Method::kGet, "/b", &params).route, nullptr);
}

TEST(RouterTest, ReportsAllowedMethodsWhenOnlyMethodDiffers) {
  Router router;
  ASSERT_TRUE(router.Add(Method::kGet, "/items", Tag("list")).ok());
  ASSERT_TRUE(router.Add(Method::kPost, "/items", Tag("create")).ok());
  ASSERT_TRUE(router.Add(Method::kDelete, "/items/{id}", Tag("delete")).ok());

  const struct {
    Method method;
    std::string_view path;
    std::string_view allow;
  } cases[] = {
      {Method::kPut, "/items", "GET, HEAD, POST"},
      {Method::kDelete, "/items", "GET, HEAD, POST"},
      {Method::kGet, "/items/3", "DELETE"},
      {Method::kHead, "/items/3", "DELETE"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(MethodLabel(c.method)) + " " + std::string(c.path));
    std::vector<PathParam> params;
    Router::Match m = router.Find(c.method, c.path, &params);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_matched);
    EXPECT_EQ(m.allow, c.allow);
  }
}

TEST(RouterTest, HeadFallsBackToGetUnlessHeadRouteExists) {
  Router router;
  ASSERT_TRUE(router.Add(Method::kGet, "/page", Tag("get-page")).ok());
  ASSERT_TRUE(router.Add(Method::kGet, "/doc/{id}", Tag("get-doc")).ok());
  ASSERT_TRUE(router.Add(Method::kHead, "/doc/{id}", Tag("head-doc")).ok());
  std::vector<PathParam> params;

  Router::Match page = router.Find(Method::kHead, "/page", &params);
  ASSERT_NE(page.route, nullptr);
  EXPECT_EQ(TagOf(page), "get-page");
  EXPECT_FALSE(page.path_matched);

  Router::Match doc = router.Find(Method::kHead, "/doc/9", &params);
  ASSERT_NE(doc.route, nullptr);
  EXPECT_EQ(TagOf(doc), "head-doc");
  EXPECT_EQ(params, (std::vector<PathParam>{{"id", "9"}}));

  // An explicit HEAD route does not repeat HEAD in the Allow list.
  Router::Match post = router.Find(Method::kPost, "/doc/9", &params);
  EXPECT_EQ(post.route, nullptr);
  EXPECT_EQ(post.allow, "GET, HEAD");
}

TEST(RouterTest, FallbackKeepsParamsOfTheGetRoute) {
  Router router;
  ASSERT_TRUE(router.Add(Method::kPost, "/x/{a}", Tag("post")).ok());
  ASSERT_TRUE(router.Add(Method::kGet, "/x/{b}", Tag("get")).ok());
  std::vector<PathParam> params;
  Router::Match m = router.Find(Method::kHead, "/x/v", &params);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(TagOf(m), "get");
  EXPECT_EQ(params, (std::vector<PathParam>{{"b", "v"}}));
}

TEST(RouterTest, RejectsDuplicateRoute) {
  Router router;
  ASSERT_TRUE(router.Add(Method::kGet, "/a/{id}", Tag("1")).ok());
  Status dup = router.Add(Method::kGet, "/a/{id}", Tag("2"));
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.message().find("duplicate"), std::string::npos);
  EXPECT_TRUE(router.Add(Method::kPost, "/a/{id}", Tag("3")).ok());
  EXPECT_EQ(router.routes().size(), 2u);
}

TEST(RouterTest, RejectsBadPatterns) {
  const std::string_view patterns[] = {"", "hello", "users/{id}", "/users/{}", "/{}/x"};
  for (std::string_view pattern : patterns) {
    SCOPED_TRACE(pattern);
    Router router;
    Status st = router.Add(Method::kGet, std::string(pattern), Tag("x"));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(router.routes().empty());
  }
}

TEST(RouterTest, RoutesKeepPatternAsMetricLabel) {
  Router router;
  ASSERT_TRUE(router.Add(Method::kGet, "/users/{id}", Tag("u")).ok());
  std::vector<PathParam> params;
  Router::Match m = router.Find(Method::kGet, "/users/123", &params);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/users/{id}");
  EXPECT_EQ(m.route->segments, (std::vector<std::string>{"users", "{id}"}));
}

}  // namespace
}  // namespace keel::net
