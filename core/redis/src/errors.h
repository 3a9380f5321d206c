// The client's failure Statuses. ErrorKindOf() (executor.cc) reads the kind
// back from the message prefix, so every failure is built here.
#pragma once

#include <string>
#include <string_view>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::redis::internal {

inline constexpr std::string_view kTimeoutPrefix = "redis: timeout";
inline constexpr std::string_view kConnectionPrefix = "redis: connection";
inline constexpr std::string_view kProtocolPrefix = "redis: protocol error";
inline constexpr std::string_view kRedirectsPrefix = "redis: too many redirects";

Status TimeoutError(std::string_view server, Duration timeout);
// "redis: connection to H:P <what>", e.g. what = "lost: End of file".
Status ConnectionError(std::string_view server, std::string_view what);
Status ProtocolError(std::string_view server, std::string_view what);
Status RedirectsError(int redirects, std::string_view last);

}  // namespace keel::redis::internal
