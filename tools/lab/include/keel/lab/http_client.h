// A small blocking HTTP/1.1 client for the lab's control traffic: health
// checks, the chaos API, /metrics scrapes. One request per connection
// (Connection: close), every step bounded by one deadline. Not for load:
// that is `keel load`.
//
//   auto r = HttpCall("POST", "http://127.0.0.1:8474/proxies", R"({"name":"db"})",
//                     std::chrono::seconds(2));
//   if (r.ok() && r->status == 201) ...
//
// Thread-safety: free function; safe to call from any thread.
#pragma once

#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::lab {

struct HttpReply {
  int status = 0;
  std::string body;
};

// Errors: InvalidArgument for a URL that is not http://HOST:PORT/PATH,
// Unavailable for connect/IO failures, DeadlineExceeded-style Unavailable
// ("timed out") when `timeout` passes, and for an unparseable response.
StatusOr<HttpReply> HttpCall(const std::string& method, const std::string& url,
                             const std::string& body, Duration timeout);

// Connects to HOST:PORT and closes; OK when the connection was accepted.
Status TcpProbe(const std::string& address, Duration timeout);

}  // namespace keel::lab
