// HttpClient: an HTTP/1.1 client with per-upstream keep-alive pools, for one
// event loop.
//
// One HttpClient per io_context (per worker thread): clients share nothing, so
// no lock sits on the request path; in a handler, create one per worker over
// CurrentIoContext() (keel/net/worker_context.h). Plain http only (no TLS);
// upstreams are IP literals or "localhost" (no DNS): "127.0.0.1:8080" or
// "http://127.0.0.1:8080".
//
//   auto client = HttpClient::Create(io, {}, obs::DefaultRegistry());
//   ClientRequest req{.upstream = "127.0.0.1:8080", .target = "/users/7"};
//   RequestId id = (*client)->Send(std::move(req), [](ClientResponse res) {
//     if (!res.status.ok()) return Fail(res.status);   // network error, timeout
//     Use(res.http_status, res.body);
//   });
//   (*client)->Cancel(id);   // e.g. the loser of a hedge: no callback after this
//
// Pooling: each upstream keeps its idle keep-alive connections (used LIFO, at
// most max_idle_per_upstream, closed after idle_timeout or when the peer
// closes them) and opens new ones up to max_connections_per_upstream; past
// that, requests wait in a FIFO queue of at most max_queued_per_upstream and
// further ones fail with Unavailable "pool exhausted". A connection is
// discarded after "Connection: close", a close-delimited body, an error, a
// timeout or a Cancel. A request that fails on a reused connection before any
// response byte arrived (the peer closed it meanwhile) is sent once more on a
// fresh connection, as browsers and curl do: a non-idempotent request may then
// run twice on a server that read it and closed without answering.
//
// Thread-safety: not thread-safe; Create, Send, Cancel and the destructor on
// the io_context's thread, and callbacks run there. Callbacks run exactly once
// per Send unless the request was cancelled, never inside Send(); they may
// Send() and Cancel() again. Destroying the client (not from inside one of its
// callbacks) drops pending requests without calling their callbacks. The
// io_context must outlive the client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/net/http_message.h"
#include "keel/obs/metrics.h"
#include "keel/obs/trace_context.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace keel::net {

struct HttpClientOptions {
  std::size_t max_connections_per_upstream = 64;
  std::size_t max_idle_per_upstream = 64;
  std::size_t max_queued_per_upstream = 1024;
  Duration idle_timeout = std::chrono::seconds(60);    // keep-alive connection unused
  Duration connect_timeout = std::chrono::seconds(1);
  Duration request_timeout = std::chrono::seconds(5);  // when the request sets no deadline
  std::size_t max_response_bytes = 8 * 1024 * 1024;    // body; larger: error "too large"
  std::string user_agent = "keel";
};

struct ClientRequest {
  std::string upstream;  // "host:port" or "http://host:port"
  Method method = Method::kGet;  // kOther is rejected
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // Host/Content-Length are added
  std::string body;
  Clock::time_point deadline{};  // {}: now + options.request_timeout
  std::optional<obs::TraceContext> trace;  // sent as traceparent when set
  // Sends the remaining budget as x-envoy-expected-rq-timeout-ms.
  bool send_timeout_header = false;
};

struct ClientResponse {
  // OK when a full response arrived (whatever its HTTP status). Unavailable
  // for connect errors, resets, timeouts, parse errors, too-large bodies and
  // an exhausted pool; the message names the error. InvalidArgument for a bad
  // upstream or method.
  Status status;
  int http_status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool timed_out = false;
  // Safe to retry elsewhere: the request was not written (connect error, pool
  // exhausted), timed out, or got 502/503/504. Resets after the request was
  // written and parse errors are not.
  bool retryable = false;

  // Case-insensitive; the first value, or "" when absent.
  std::string_view header(std::string_view name) const;
};

using RequestId = std::uint64_t;

class HttpClient {
 public:
  static StatusOr<std::unique_ptr<HttpClient>> Create(boost::asio::io_context& io,
                                                      HttpClientOptions options,
                                                      obs::Registry& registry);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts the request; `done` runs later on the io_context thread.
  RequestId Send(ClientRequest request, std::function<void(ClientResponse)> done);
  // Drops a pending request and closes its connection, if it had one; its
  // callback will not run. Returns false when it had already completed.
  bool Cancel(RequestId id);

  class Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::net
