// Structured logs: one JSON object per line on stderr.
//
//   {"ts":"2026-11-25T12:00:00.123Z","level":"info","msg":"listening",
//    "addr":"127.0.0.1:8080","trace_id":"...","span_id":"..."}
//
//   Log(LogLevel::kInfo, "listening", {{"addr", addr}, {"threads", 4}});
//
// Lines are formatted into a per-thread buffer and written with one write(2)
// under a mutex, so lines from different threads never interleave.
// Thread-safety: all functions are thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace keel::obs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, std::int64_t v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  LogField(std::string_view k, std::uint64_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}

  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;
};

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// "debug" | "info" | "warn" | "error"; false when unknown.
bool ParseLogLevel(std::string_view text, LogLevel* level);

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

// Formats one line (with trailing newline) without writing it; for tests.
std::string FormatLogLine(LogLevel level, std::string_view msg,
                          std::initializer_list<LogField> fields);

// Redirects output to `fd` (default 2); for tests.
void SetLogFd(int fd);

}  // namespace keel::obs
