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
  }
  return "unknown";  // a value cast from outside the enum
}

std::uint64_t RunResult::total_errors() const {
  std::uint64_t total = 0;
  for (const std::uint64_t n : errors) total += n;
  return total;
}

}  // namespace keel::load
