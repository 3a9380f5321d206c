#include "keel/obs/log.h"
#include "keel/obs/trace_context.h"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace keel::obs {
namespace {

using ::testing::MatchesRegex;
using nlohmann::json;

// Parses one formatted line: exactly one '\n', at the end, and valid JSON before it.
json ParseLine(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  std::string body = line.substr(0, line.size() - 1);
  EXPECT_TRUE(json::accept(body)) << "not JSON: " << body;
  return json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Restores the process-wide log level and sink after each test.
class LogTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetLogFd(2);
    SetLogLevel(LogLevel::kInfo);
  }
};

TEST_F(LogTest, FormatsOneJsonLineWithTimestampLevelMessageAndFields) {
  std::string line = FormatLogLine(LogLevel::kInfo, "listening",
                                   {{"addr", "127.0.0.1:8080"},
                                    {"threads", 4},
                                    {"bytes", std::int64_t{-5000000000}},
                                    {"total", std::uint64_t{7}},
                                    {"ratio", 0.25},
                                    {"tls", false},
                                    {"ready", true}});
  json j = ParseLine(line);
  ASSERT_TRUE(j.is_object());
  EXPECT_THAT(j["ts"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "listening");
  EXPECT_EQ(j["addr"], "127.0.0.1:8080");
  EXPECT_EQ(j["threads"], 4);
  EXPECT_EQ(j["bytes"], -5000000000);
  EXPECT_EQ(j["total"], 7);
  EXPECT_DOUBLE_EQ(j["ratio"].get<double>(), 0.25);
  EXPECT_EQ(j["tls"], false);
  EXPECT_EQ(j["ready"], true);
  EXPECT_EQ(j.size(), 10u);
  // ts, level and msg come first, in that order.
  EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
  EXPECT_LT(line.find("\"level\""), line.find("\"msg\""));
}

TEST_F(LogTest, NamesEveryLevel) {
  struct Case {
    LogLevel level;
    const char* name;
  };
  const Case cases[] = {{LogLevel::kDebug, "debug"},
                        {LogLevel::kInfo, "info"},
                        {LogLevel::kWarn, "warn"},
                        {LogLevel::kError, "error"}};
  for (const Case& c : cases) {
    json j = ParseLine(FormatLogLine(c.level, "m", {}));
    EXPECT_EQ(j["level"], c.name);
  }
}

TEST_F(LogTest, WritesNonFiniteDoublesAsNull) {
  json j = ParseLine(FormatLogLine(LogLevel::kInfo, "m",
                                   {{"nan", std::numeric_limits<double>::quiet_NaN()},
                                    {"inf", std::numeric_limits<double>::infinity()}}));
  EXPECT_TRUE(j["nan"].is_null());
  EXPECT_TRUE(j["inf"].is_null());
}

TEST_F(LogTest, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string cases[] = {
      "say \"hi\"",
      "C:\\path\\file",
      "two\nlines",
      "cr\rtab\t",
      std::string("nul\0byte", 8),
      "bell\x07 esc\x1b unit\x1f",
      "</script> and unicode \xc3\xa9",
  };
  for (const std::string& text : cases) {
    std::string line =
        FormatLogLine(LogLevel::kWarn, text, {{text, text}, {"k", std::string_view(text)}});
    for (std::size_t i = 0; i + 1 < line.size(); ++i) {
      EXPECT_GE(static_cast<unsigned char>(line[i]), 0x20)
          << "raw control byte at " << i << " in " << line;
    }
    json j = ParseLine(line);
    EXPECT_EQ(j["msg"], text);
    EXPECT_EQ(j[text], text);  // keys are escaped too
    EXPECT_EQ(j["k"], text);
  }
}

TEST_F(LogTest, ParsesKnownLevelNames) {
  struct Case {
    const char* text;
    LogLevel want;
  };
  const Case cases[] = {{"debug", LogLevel::kDebug},
                        {"info", LogLevel::kInfo},
                        {"warn", LogLevel::kWarn},
                        {"error", LogLevel::kError}};
  for (const Case& c : cases) {
    LogLevel got = LogLevel::kError;
    if (c.want == LogLevel::kError) got = LogLevel::kDebug;
    ASSERT_TRUE(ParseLogLevel(c.text, &got)) << c.text;
    EXPECT_EQ(got, c.want) << c.text;
  }
}

TEST_F(LogTest, RejectsUnknownLevelNamesAndLeavesOutputAlone) {
  for (const char* text : {"", "INFO", "Info", "warning", "trace", "fatal", "info "}) {
    LogLevel got = LogLevel::kWarn;
    EXPECT_FALSE(ParseLogLevel(text, &got)) << "'" << text << "'";
    EXPECT_EQ(got, LogLevel::kWarn) << "'" << text << "'";
  }
}

TEST_F(LogTest, LogEnabledFollowsSetLogLevel) {
  const LogLevel all[] = {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError};
  for (LogLevel threshold : all) {
    SetLogLevel(threshold);
    for (LogLevel level : all) {
      EXPECT_EQ(LogEnabled(level), static_cast<int>(level) >= static_cast<int>(threshold))
          << "threshold " << static_cast<int>(threshold) << " level "
          << static_cast<int>(level);
    }
  }
}

class LogPipeTest : public LogTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe(fds_), 0);
    SetLogFd(fds_[1]);
  }
  void TearDown() override {
    LogTest::TearDown();
    if (fds_[1] >= 0) close(fds_[1]);
    close(fds_[0]);
  }
  // Stops logging into the pipe and returns everything written to it.
  std::string CloseAndReadAll() {
    SetLogFd(2);
    close(fds_[1]);
    fds_[1] = -1;
    return ReadToEof(fds_[0]);
  }
  static std::string ReadToEof(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  int fds_[2] = {-1, -1};
};

TEST_F(LogPipeTest, LogWritesFormattedLineToTheConfiguredFd) {
  Log(LogLevel::kInfo, "hello", {{"route", "/hello"}, {"code", 200}});
  std::vector<std::string> lines = SplitLines(CloseAndReadAll());
  ASSERT_EQ(lines.size(), 1u);
  json j = ParseLine(lines[0] + "\n");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "hello");
  EXPECT_EQ(j["route"], "/hello");
  EXPECT_EQ(j["code"], 200);
}

TEST_F(LogPipeTest, LogDropsLinesBelowTheLevel) {
  SetLogLevel(LogLevel::kWarn);
  Log(LogLevel::kDebug, "dropped debug");
  Log(LogLevel::kInfo, "dropped info");
  Log(LogLevel::kWarn, "kept warn");
  Log(LogLevel::kError, "kept error");
  std::vector<std::string> lines = SplitLines(CloseAndReadAll());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(ParseLine(lines[0] + "\n")["msg"], "kept warn");
  EXPECT_EQ(ParseLine(lines[1] + "\n")["msg"], "kept error");
}

TEST_F(LogPipeTest, ConcurrentLinesNeverInterleave) {
  constexpr int kThreads = 4;
  constexpr int kLinesPerThread = 100;
  // Longer than PIPE_BUF, so a line may need several write(2) calls.
  const std::string padding(6000, 'x');

  std::string output;
  std::thread reader([&] { output = ReadToEof(fds_[0]); });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        Log(LogLevel::kInfo, padding, {{"thread", t}, {"seq", i}});
      }
    });
  }
  for (auto& w : writers) w.join();
  SetLogFd(2);
  close(fds_[1]);
  fds_[1] = -1;
  reader.join();

  std::vector<std::string> lines = SplitLines(output);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLinesPerThread));
  std::map<int, int> next_seq;
  for (const std::string& line : lines) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "interleaved or torn line of " << line.size() << " bytes";
    EXPECT_EQ(j["msg"], padding);
    int t = j["thread"].get<int>();
    // Each thread's lines arrive complete and in the order it wrote them.
    EXPECT_EQ(j["seq"].get<int>(), next_seq[t]++) << "thread " << t;
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next_seq[t], kLinesPerThread) << "thread " << t;
}

TEST_F(LogTest, AddsCurrentTraceContext) {
  TraceContext ctx =
      TraceContext::ContinueOrStart("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  json before = ParseLine(FormatLogLine(LogLevel::kInfo, "m", {}));
  EXPECT_FALSE(before.contains("trace_id"));
  {
    ScopedTraceContext scope(ctx);
    json line = ParseLine(FormatLogLine(LogLevel::kInfo, "m", {{"k", 1}}));
    EXPECT_EQ(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(line["span_id"], std::string(ctx.SpanIdHex().data(), 16));
    // An explicit trace_id wins and is not duplicated.
    std::string explicit_line = FormatLogLine(LogLevel::kInfo, "m", {{"trace_id", "abc"}});
    EXPECT_EQ(ParseLine(explicit_line)["trace_id"], "abc");
    EXPECT_EQ(explicit_line.find("4bf92f"), std::string::npos);
    {
      TraceContext inner = TraceContext::ContinueOrStart("");
      ScopedTraceContext nested(inner);
      EXPECT_EQ(ParseLine(FormatLogLine(LogLevel::kInfo, "m", {}))["trace_id"],
                std::string(inner.TraceIdHex().data(), 32));
    }
    EXPECT_EQ(ParseLine(FormatLogLine(LogLevel::kInfo, "m", {}))["trace_id"],
              "4bf92f3577b34da6a3ce929d0e0e4736");
  }
  EXPECT_FALSE(ParseLine(FormatLogLine(LogLevel::kInfo, "m", {})).contains("trace_id"));
  // Per thread: another thread sees no context.
  ScopedTraceContext scope(ctx);
  bool other_has = true;
  std::thread([&] { other_has = CurrentTraceContext() != nullptr; }).join();
  EXPECT_FALSE(other_has);
}

}  // namespace
}  // namespace keel::obs
