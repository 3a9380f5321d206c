#include "keel/base/units.h"

#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace keel {
namespace {

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// Splits "12.5ms" into the number 12.5 and the suffix "ms".
bool SplitNumber(std::string_view text, double* number, std::string_view* suffix) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, *number);
  if (ec != std::errc() || ptr != text.data() + i) return false;
  *suffix = text.substr(i);
  return true;
}

}  // namespace

StatusOr<Duration> ParseDuration(std::string_view text) {
  double n = 0;
  std::string_view unit;
  if (!SplitNumber(text, &n, &unit)) {
    return InvalidArgument("invalid duration " + Quote(text) + " (expected e.g. 250ms, 10s, 1m)");
  }
  double ns_per_unit = 0;
  if (unit == "ns") ns_per_unit = 1;
  else if (unit == "us") ns_per_unit = 1e3;
  else if (unit == "ms") ns_per_unit = 1e6;
  else if (unit == "s") ns_per_unit = 1e9;
  else if (unit == "m") ns_per_unit = 60e9;
  else if (unit == "h") ns_per_unit = 3600e9;
  else if (unit == "d") ns_per_unit = 86400e9;
  else if (unit.empty() && n == 0) ns_per_unit = 1;
  else {
    return InvalidArgument("invalid duration " + Quote(text) +
                           " (unit must be one of ns, us, ms, s, m, h, d)");
  }
  double total = n * ns_per_unit;
  if (!std::isfinite(total) || total > 1e18) {
    return InvalidArgument("duration " + Quote(text) + " is too large");
  }
  return Duration(static_cast<std::int64_t>(std::llround(total)));
}

StatusOr<std::uint64_t> ParseByteSize(std::string_view text) {
  double n = 0;
  std::string_view unit;
  if (!SplitNumber(text, &n, &unit)) {
    return InvalidArgument("invalid size " + Quote(text) + " (expected e.g. 8192, 16KiB, 1MiB)");
  }
  double mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KB") mult = 1e3;
  else if (unit == "MB") mult = 1e6;
  else if (unit == "GB") mult = 1e9;
  else if (unit == "KiB") mult = 1024.0;
  else if (unit == "MiB") mult = 1024.0 * 1024;
  else if (unit == "GiB") mult = 1024.0 * 1024 * 1024;
  else {
    return InvalidArgument("invalid size " + Quote(text) +
                           " (unit must be one of B, KB, MB, GB, KiB, MiB, GiB)");
  }
  double total = n * mult;
  if (!std::isfinite(total) || total > 1e18) {
    return InvalidArgument("size " + Quote(text) + " is too large");
  }
  return static_cast<std::uint64_t>(std::llround(total));
}

StatusOr<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return InvalidArgument("invalid integer " + Quote(text));
  }
  return v;
}

StatusOr<bool> ParseBool(std::string_view text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return InvalidArgument("invalid boolean " + Quote(text) + " (expected true or false)");
}

StatusOr<HostPort> ParseHostPort(std::string_view text) {
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument("invalid address " + Quote(text) + " (expected [IPv6]:PORT)");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return InvalidArgument("invalid address " + Quote(text) + " (expected HOST:PORT)");
    }
    hp.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (hp.host.empty()) hp.host = "0.0.0.0";
  auto p = ParseInt(port);
  if (!p.ok() || *p < 0 || *p > 65535) {
    return InvalidArgument("invalid port in address " + Quote(text) + " (expected 0-65535)");
  }
  hp.port = static_cast<std::uint16_t>(*p);
  return hp;
}

std::string FormatDuration(Duration d) {
  auto ns = d.count();
  char buf[64];
  if (ns % 1000000000 == 0) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ns / 1000000000));
  } else if (ns % 1000000 == 0) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ns / 1000000));
  } else if (ns % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(ns / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(ns));
  }
  return buf;
}

}  // namespace keel
