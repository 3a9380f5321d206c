// ApiReply: what one Toxiproxy-compatible API call answers, as a value.
//
// Every ProxyRegistry operation returns an HTTP status and a JSON body, so the
// HTTP layer (api.cc) only moves bytes and tests can assert on replies without
// a socket. Errors use Toxiproxy's body shape:
//
//   {"error": "proxy not found", "status": 404}
//
// ApiResult<T> carries a parsed value or an error reply (a StatusOr with an
// HTTP status instead of a StatusCode).
//
// Thread-safety: values; copy freely.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>

namespace keel::chaos {

struct ApiReply {
  int status = 200;
  nlohmann::json body;  // null: no body (204)

  static ApiReply Error(int status, std::string message) {
    return ApiReply{status, nlohmann::json{{"error", std::move(message)}, {"status", status}}};
  }
  bool ok() const { return status < 300; }
};

// Toxiproxy's error messages, kept verbatim for clients that match on them.
inline constexpr const char* kErrBadRequestBody = "bad request body";
inline constexpr const char* kErrMissingField = "missing required field";
inline constexpr const char* kErrProxyNotFound = "proxy not found";
inline constexpr const char* kErrProxyAlreadyExists = "proxy already exists";
inline constexpr const char* kErrInvalidStream =
    "stream was invalid, can be either upstream or downstream";
inline constexpr const char* kErrInvalidToxicType = "invalid toxic type";
inline constexpr const char* kErrToxicAlreadyExists = "toxic already exists";
inline constexpr const char* kErrToxicNotFound = "toxic not found";

// "bad request body: <detail>" with status 400.
inline ApiReply BadBody(const std::string& detail) {
  return ApiReply::Error(400, std::string(kErrBadRequestBody) + ": " + detail);
}

// A value or an error reply. REQUIRES: value accessors only when ok().
template <typename T>
class ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  ApiResult(ApiReply error) : v_(std::move(error)) {}    // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(v_); }
  const ApiReply& error() const { return std::get<ApiReply>(v_); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, ApiReply> v_;
};

}  // namespace keel::chaos
