// Parsers for the human-readable units used in flags and config files.
//
//   ParseDuration("250ms") -> 250 ms      units: ns us ms s m h d (and bare 0)
//   ParseByteSize("16KiB") -> 16384       units: B KB MB GB (10^3) KiB MiB GiB (2^10)
//   ParseHostPort("127.0.0.1:0") -> {host "127.0.0.1", port 0}; "[::1]:80" too
//
// All return InvalidArgument with a message naming the bad text; none throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "keel/base/status.h"

namespace keel {

using Duration = std::chrono::nanoseconds;

StatusOr<Duration> ParseDuration(std::string_view text);
StatusOr<std::uint64_t> ParseByteSize(std::string_view text);
StatusOr<std::int64_t> ParseInt(std::string_view text);
StatusOr<bool> ParseBool(std::string_view text);

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
StatusOr<HostPort> ParseHostPort(std::string_view text);

// Formats a duration in the largest unit that keeps it whole ("1500ms", "2s"),
// in a form ParseDuration reads back.
std::string FormatDuration(Duration d);

}  // namespace keel
