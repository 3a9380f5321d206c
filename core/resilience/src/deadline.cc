#include "keel/resilience/deadline.h"

#include <charconv>
#include <chrono>
#include <cstdint>

namespace keel::resilience {

Deadline Deadline::After(Clock::time_point now, Clock::duration timeout) {
  if (timeout > Clock::time_point::max() - now) return Infinite();
  return Deadline(now + timeout);
}

Clock::duration Deadline::Remaining(Clock::time_point now) const {
  if (infinite()) return Clock::duration::max();
  return now >= when_ ? Clock::duration::zero() : when_ - now;
}

Clock::duration Deadline::AttemptTimeout(Clock::time_point now, Clock::duration per_try) const {
  Clock::duration remaining = Remaining(now);
  return per_try > Clock::duration::zero() && per_try < remaining ? per_try : remaining;
}

Deadline Deadline::ForAttempt(Clock::time_point now, Clock::duration per_try) const {
  if (per_try <= Clock::duration::zero()) return *this;
  return Min(After(now, per_try));
}

std::optional<Clock::duration> ParseTimeoutHeader(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.front() < '0' || v.front() > '9') return std::nullopt;  // no sign
  std::uint64_t ms = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  constexpr std::uint64_t kMaxMs =
      static_cast<std::uint64_t>(Clock::duration::max().count()) / 1000000;
  if (ms > kMaxMs) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::string FormatTimeoutMs(Clock::duration remaining) {
  if (remaining <= Clock::duration::zero()) return "0";
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(remaining).count();
  return std::to_string(ms < 1 ? 1 : ms);
}

void AppendTimeoutHeaderValue(std::string* out, Clock::duration remaining) {
  std::int64_t ms = 0;
  if (remaining > Clock::duration::zero()) {
    ms = std::chrono::duration_cast<std::chrono::milliseconds>(remaining).count();
    if (ms < 1) ms = 1;  // still time left: never tell the upstream "expired"
  }
  char buf[24];  // an int64 in decimal is at most 20 characters
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ms);
  (void)ec;  // cannot fail: the buffer holds any int64
  out->append(buf, end);
}

void AppendTimeoutHeader(std::string* out, Clock::duration remaining) {
  out->append(kTimeoutHeader);
  out->append(": ");
  AppendTimeoutHeaderValue(out, remaining);
  out->append("\r\n");
}

}  // namespace keel::resilience
