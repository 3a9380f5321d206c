// Maps a method and a path to a handler. Patterns are literal segments and
// `{name}` parameters that match one non-empty segment:
//
//   Router router;
//   router.Add(Method::kGet, "/hello", Hello);
//   router.Add(Method::kGet, "/users/{id}", GetUser);   // req.param("id")
//
// Find() reports a path that matched under another method, so the runtime
// answers 405 with an Allow header instead of 404. HEAD falls back to GET.
// Each route has a stable index and its pattern is its metric label, so route
// labels stay bounded whatever paths clients send.
//
// Thread-safety: build the router before the server starts; after that it is
// read-only and shared by every worker.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/net/http_message.h"

namespace keel::net {

using Handler = std::function<void(const Request&, Response&)>;

class Router {
 public:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;  // "{id}" kept as is
    Handler handler;
  };

  // Errors: InvalidArgument for a pattern not starting with '/', an empty
  // parameter name, or a duplicate method+pattern.
  Status Add(Method method, std::string pattern, Handler handler);

  struct Match {
    const Route* route = nullptr;  // null: no route for this method
    int route_index = -1;
    bool path_matched = false;     // some route matched the path under another method
    std::string_view allow;        // for 405: "GET, HEAD, POST"
  };
  // Fills *params with views into `path` and the route's pattern.
  Match Find(Method method, std::string_view path, std::vector<PathParam>* params) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  bool MatchPath(const Route& route, std::string_view path, std::vector<PathParam>* params) const;
  std::vector<Route> routes_;
  // Allow header per route pattern, indexed like routes_.
  std::vector<std::string> allow_;
};

}  // namespace keel::net
