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
// An async handler (AddAsync) answers later: it receives a Responder and the
// request is answered when Responder::Send() runs (see Responder below).
//
// Thread-safety: build the router before the server starts; after that it is
// read-only and shared by every worker.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/net/http_message.h"

namespace keel::net {

namespace internal {
struct ResponderState;
}  // namespace internal

// The completion of one async request. Move-only; call Send() exactly once,
// on the worker thread that ran the handler, once the Response is filled in.
// Until then the Request (views into the connection buffer) and the Response
// stay valid, later pipelined requests of the connection wait (responses
// stay in order), and no header/idle timeout applies to the request: the
// handler bounds its own time (e.g. with CurrentScheduler().After()).
//
// If the connection was closed meanwhile (peer, shutdown), Send() does
// nothing. A Responder destroyed without Send() answers 500 and is logged and
// counted (keel_http_responders_dropped_total). A Responder that is still
// pending when its server is destroyed does nothing.
//
// std::function needs copyable callables: to pass a Responder through one
// (e.g. Scheduler::After), hold it in a std::shared_ptr<Responder>.
class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<internal::ResponderState> state);
  Responder(Responder&& other) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  ~Responder();

  // Sends the Response. Second and later calls do nothing.
  void Send();
  // True until Send() (or a move from this).
  bool pending() const { return state_ != nullptr; }

 private:
  void Finish(bool dropped);
  std::shared_ptr<internal::ResponderState> state_;
};

using Handler = std::function<void(const Request&, Response&)>;
using AsyncHandler = std::function<void(const Request&, Response&, Responder)>;

class Router {
 public:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;  // "{id}" kept as is
    Handler handler;             // set for Add()
    AsyncHandler async_handler;  // set for AddAsync()
  };

  // Errors: InvalidArgument for a pattern not starting with '/', an empty
  // parameter name, or a duplicate method+pattern.
  Status Add(Method method, std::string pattern, Handler handler);
  // As Add(), for a handler that answers through its Responder.
  Status AddAsync(Method method, std::string pattern, AsyncHandler handler);

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
  Status AddRoute(Route route);
  bool MatchPath(const Route& route, std::string_view path, std::vector<PathParam>* params) const;
  std::vector<Route> routes_;
  // Allow header per route pattern, indexed like routes_.
  std::vector<std::string> allow_;
};

}  // namespace keel::net
