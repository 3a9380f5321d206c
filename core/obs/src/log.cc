#include "keel/obs/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "keel/base/json_string.h"
#include "keel/obs/trace_context.h"

namespace keel::obs {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_fd{2};
std::mutex g_write_mu;

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

void AppendTimestamp(std::string* out) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  out->append(buf);
}

void Format(std::string* out, LogLevel level, std::string_view msg,
            std::initializer_list<LogField> fields) {
  out->append("{\"ts\":");
  AppendTimestamp(out);
  out->append(",\"level\":\"").append(kLevelNames[static_cast<int>(level)]).append("\",\"msg\":");
  AppendJsonString(out, msg);
  for (const auto& f : fields) {
    out->push_back(',');
    AppendJsonString(out, f.key);
    out->push_back(':');
    if (auto* s = std::get_if<std::string_view>(&f.value)) {
      AppendJsonString(out, *s);
    } else if (auto* i = std::get_if<std::int64_t>(&f.value)) {
      out->append(std::to_string(*i));
    } else if (auto* d = std::get_if<double>(&f.value)) {
      if (std::isfinite(*d)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", *d);
        out->append(buf);
      } else {
        out->append("null");
      }
    } else {
      out->append(std::get<bool>(f.value) ? "true" : "false");
    }
  }
  // The current trace (ScopedTraceContext) unless the caller named one.
  if (const TraceContext* ctx = CurrentTraceContext()) {
    bool explicit_id = false;
    for (const auto& f : fields) explicit_id |= f.key == "trace_id";
    if (!explicit_id) {
      auto trace = ctx->TraceIdHex();
      auto span = ctx->SpanIdHex();
      out->append(",\"trace_id\":\"").append(trace.data(), trace.size());
      out->append("\",\"span_id\":\"").append(span.data(), span.size()).append("\"");
    }
  }
  out->append("}\n");
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  for (int i = 0; i < 4; ++i) {
    if (text == kLevelNames[i]) {
      *level = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

void SetLogFd(int fd) { g_fd.store(fd); }

std::string FormatLogLine(LogLevel level, std::string_view msg,
                          std::initializer_list<LogField> fields) {
  std::string out;
  Format(&out, level, msg, fields);
  return out;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  thread_local std::string line;
  line.clear();
  Format(&line, level, msg, fields);
  std::lock_guard<std::mutex> lock(g_write_mu);
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(g_fd.load(), p, left);
    if (n <= 0) break;  // nowhere to report a failing log sink
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace keel::obs
