#include "keel/redis/executor.h"

#include "errors.h"

namespace keel::redis {

namespace internal {

Status TimeoutError(std::string_view server, Duration timeout) {
  return Unavailable(std::string(kTimeoutPrefix) + " after " + FormatDuration(timeout) +
                     " waiting for " + std::string(server));
}

Status ConnectionError(std::string_view server, std::string_view what) {
  return Unavailable(std::string(kConnectionPrefix) + " to " + std::string(server) + " " +
                     std::string(what));
}

Status ProtocolError(std::string_view server, std::string_view what) {
  return Unavailable(std::string(kProtocolPrefix) + " from " + std::string(server) + ": " +
                     std::string(what));
}

Status RedirectsError(int redirects, std::string_view last) {
  return Unavailable(std::string(kRedirectsPrefix) + " (" + std::to_string(redirects) +
                     "), last: " + std::string(last));
}

}  // namespace internal

ErrorKind ErrorKindOf(const Status& status) {
  if (status.ok()) return ErrorKind::kNone;
  if (status.code() == StatusCode::kInvalidArgument) return ErrorKind::kInvalid;
  const std::string_view m = status.message();
  if (m.starts_with(internal::kTimeoutPrefix)) return ErrorKind::kTimeout;
  if (m.starts_with(internal::kProtocolPrefix)) return ErrorKind::kProtocol;
  if (m.starts_with(internal::kRedirectsPrefix)) return ErrorKind::kRedirects;
  return ErrorKind::kConnection;
}

void Executor::Exec(const std::vector<std::string>& args, const CallOptions& options,
                    Callback done) {
  std::vector<std::string_view> views(args.begin(), args.end());
  Submit(views, options, std::move(done));
}

}  // namespace keel::redis
