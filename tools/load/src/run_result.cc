#include "keel/load/run_result.h"

namespace keel::load {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kRead:
      return "read";
    case ErrorKind::kStatus4xx:
      return "status_4xx";
    case ErrorKind::kStatus5xx:
      return "status_5xx";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kGrpcStatus:
      return "grpc_status";
  }
  return "unknown";  // a value cast from outside the enum
}

std::vector<ErrorKind> ErrorKindsOf(bool rls) {
  if (rls) return {ErrorKind::kTimeout, ErrorKind::kUnavailable, ErrorKind::kGrpcStatus};
  return {ErrorKind::kConnect, ErrorKind::kTimeout, ErrorKind::kRead, ErrorKind::kStatus4xx,
          ErrorKind::kStatus5xx};
}

std::uint64_t RunResult::total_errors() const {
  std::uint64_t total = 0;
  for (const std::uint64_t n : errors) total += n;
  return total;
}

}  // namespace keel::load
