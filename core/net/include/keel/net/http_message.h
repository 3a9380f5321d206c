// The request a handler reads and the response it fills in.
//
// A Request is a read-only view into the connection's buffer: its string_views
// are valid only during the handler call. A Response is reused across the
// requests of one connection, so filling it in does not allocate once its
// buffers have grown to the sizes a service needs.
//
//   void Hello(const Request& req, Response& res) {
//     res.set_status(200);
//     res.set_content_type("text/plain");
//     res.body() = "hello";
//   }
//
// Thread-safety: a Request and its Response belong to one worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/base/json_string.h"
#include "keel/obs/trace_context.h"

namespace keel::net {

enum class Method : std::uint8_t { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };
inline constexpr int kMethodCount = 8;

Method ParseMethod(std::string_view name);
// The name used in metric labels: "GET" ... or "OTHER" (bounded cardinality).
std::string_view MethodLabel(Method m);

using Header = std::pair<std::string_view, std::string_view>;
using PathParam = std::pair<std::string_view, std::string_view>;

struct Request {
  Method method = Method::kOther;
  std::string_view method_name;  // as sent
  std::string_view target;       // path and query as sent
  std::string_view path;
  std::string_view query;        // after '?', without it
  int version = 11;              // 10 or 11
  bool keep_alive = true;
  const std::vector<Header>* headers = nullptr;
  const std::vector<PathParam>* params = nullptr;
  std::string_view body;
  obs::TraceContext trace;

  // Case-insensitive; the first value, or "" when absent.
  std::string_view header(std::string_view name) const;
  // A path parameter from the route pattern ("/users/{id}" -> "id"), or "".
  std::string_view param(std::string_view name) const;
};

class Response {
 public:
  void set_status(int status) { status_ = status; }
  int status() const { return status_; }
  void set_content_type(std::string_view type) { content_type_.assign(type); }
  const std::string& content_type() const { return content_type_; }
  std::string& body() { return body_; }
  const std::string& body() const { return body_; }
  // Adds a header line; names are sent as given. Do not add Content-Length,
  // Date, Connection or traceparent: the runtime writes those.
  void add_header(std::string_view name, std::string_view value);
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  std::size_t header_count() const { return header_count_; }
  // Asks the runtime to close the connection after this response.
  void set_close() { close_ = true; }
  bool close() const { return close_; }

  // Sets a JSON error body: {"error": message, "code": status}.
  void SetError(int status, std::string_view message);
  // Resets to 200, empty body, no headers; keeps buffer capacity.
  void Reset();

 private:
  int status_ = 200;
  bool close_ = false;
  std::string content_type_;
  std::string body_;
  // Slots are reused: only the first header_count_ are live.
  std::vector<std::pair<std::string, std::string>> headers_;
  std::size_t header_count_ = 0;
};

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
std::string_view ReasonPhrase(int status);

// Appends s to out as a JSON string literal (keel/base/json_string.h).
using keel::AppendJsonString;

}  // namespace keel::net
