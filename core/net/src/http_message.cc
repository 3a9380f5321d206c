#include "keel/net/http_message.h"

#include <cstdio>
#include <strings.h>

namespace keel::net {

Method ParseMethod(std::string_view name) {
  switch (name.size()) {
    case 3:
      if (name == "GET") return Method::kGet;
      if (name == "PUT") return Method::kPut;
      break;
    case 4:
      if (name == "HEAD") return Method::kHead;
      if (name == "POST") return Method::kPost;
      break;
    case 5:
      if (name == "PATCH") return Method::kPatch;
      break;
    case 6:
      if (name == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (name == "OPTIONS") return Method::kOptions;
      break;
    default:
      break;
  }
  return Method::kOther;
}

std::string_view MethodLabel(Method m) {
  static constexpr std::string_view kNames[kMethodCount] = {"GET",   "HEAD",    "POST",  "PUT",
                                                            "DELETE", "PATCH", "OPTIONS", "OTHER"};
  return kNames[static_cast<int>(m)];
}

namespace {
bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}
}  // namespace

std::string_view Request::header(std::string_view name) const {
  if (headers == nullptr) return {};
  for (const auto& [k, v] : *headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

std::string_view Request::param(std::string_view name) const {
  if (params == nullptr) return {};
  for (const auto& [k, v] : *params) {
    if (k == name) return v;
  }
  return {};
}

void Response::add_header(std::string_view name, std::string_view value) {
  if (header_count_ == headers_.size()) headers_.emplace_back();
  headers_[header_count_].first.assign(name);
  headers_[header_count_].second.assign(value);
  ++header_count_;
}

void Response::Reset() {
  status_ = 200;
  close_ = false;
  content_type_.clear();
  body_.clear();
  header_count_ = 0;
}

void Response::SetError(int status, std::string_view message) {
  status_ = status;
  content_type_.assign("application/json");
  body_.assign("{\"error\":");
  AppendJsonString(&body_, message);
  body_.append(",\"code\":").append(std::to_string(status)).append("}");
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace keel::net
