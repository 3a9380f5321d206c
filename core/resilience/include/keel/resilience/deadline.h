// Deadline: the instant by which a call must be answered, carried from the
// incoming request through every outgoing attempt, and its HTTP form.
//
// Over HTTP a deadline travels as the remaining time in the header
// `x-envoy-expected-rq-timeout-ms` (decimal milliseconds): Envoy sets it on
// requests it forwards to tell the upstream how long it will wait, so Keel
// behind Envoy gets its callers' deadlines for free, and Keel sets it on its
// own outgoing requests.
//
// Rounding: AppendTimeoutHeaderValue()/AppendTimeoutHeader() round the remaining time down to whole
// milliseconds (the receiver must not believe it has longer than it has), but
// writes at least 1 for any positive remaining time; 0 means the deadline has
// passed (a caller should not send such a request; a receiver treats it as
// expired).
//
//   Deadline d = Deadline::After(clock.Now(), std::chrono::seconds(2));
//   Clock::duration t = d.AttemptTimeout(clock.Now(), per_try);  // min(remaining, per_try)
//   AppendTimeoutHeader(&request_head, d.Remaining(clock.Now()));
//
// Thread-safety: values; the functions are pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "keel/base/clock.h"

namespace keel::resilience {

inline constexpr std::string_view kTimeoutHeader = "x-envoy-expected-rq-timeout-ms";

class Deadline {
 public:
  static Deadline Infinite() { return Deadline(Clock::time_point::max()); }
  static Deadline At(Clock::time_point when) { return Deadline(when); }
  // now + timeout, saturating at Infinite().
  static Deadline After(Clock::time_point now, Clock::duration timeout);

  Clock::time_point when() const { return when_; }
  bool infinite() const { return when_ == Clock::time_point::max(); }
  bool Expired(Clock::time_point now) const { return now >= when_; }
  // Time left, >= 0; Clock::duration::max() for Infinite().
  Clock::duration Remaining(Clock::time_point now) const;
  // min(Remaining(now), per_try); per_try <= 0 means no per-try limit.
  Clock::duration AttemptTimeout(Clock::time_point now, Clock::duration per_try) const;
  // The deadline of one attempt started now: the sooner of this and now + per_try.
  Deadline ForAttempt(Clock::time_point now, Clock::duration per_try) const;
  // The sooner of the two.
  Deadline Min(Deadline other) const { return other.when_ < when_ ? other : *this; }

 private:
  explicit Deadline(Clock::time_point when) : when_(when) {}
  Clock::time_point when_;
};

// Parses the header value: decimal milliseconds, digits only (optional
// surrounding spaces/tabs). nullopt for empty, signs, junk, or more
// milliseconds than Clock::duration holds.
std::optional<Clock::duration> ParseTimeoutHeader(std::string_view value);

// The header value for `remaining` (see rounding above); negative -> "0".
std::string FormatTimeoutMs(Clock::duration remaining);

// Appends only the value, "<ms>" (rounding above), for a client that writes
// header names itself (HTTP/2 HPACK, a header map). No allocation.
void AppendTimeoutHeaderValue(std::string* out, Clock::duration remaining);

// Appends "x-envoy-expected-rq-timeout-ms: <ms>\r\n" (an HTTP/1.1 header line).
void AppendTimeoutHeader(std::string* out, Clock::duration remaining);

}  // namespace keel::resilience
