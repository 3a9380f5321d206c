#include "keel/obs/trace_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace keel::obs {
namespace {

using ::testing::MatchesRegex;

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kSpan = "00f067aa0ba902b7";
constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

template <std::size_t N>
std::string Hex(const std::array<std::uint8_t, N>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

template <std::size_t N>
bool AllZero(const std::array<std::uint8_t, N>& bytes) {
  for (auto b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::string Header(std::string_view version, std::string_view trace, std::string_view span,
                   std::string_view flags) {
  return std::string(version) + "-" + std::string(trace) + "-" + std::string(span) + "-" +
         std::string(flags);
}

TEST(TraceContextParseTest, AcceptsWellFormedHeaders) {
  struct Case {
    std::string header;
    std::uint8_t flags;
  };
  const Case cases[] = {
      {std::string(kValid), 0x01},
      {Header("00", kTrace, kSpan, "00"), 0x00},
      {Header("00", kTrace, kSpan, "ff"), 0xff},
      {Header("01", kTrace, kSpan, "01"), 0x01},                               // future version
      {Header("cc", kTrace, kSpan, "01") + "-what-the-future-will-be", 0x01},  // with extra fields
      {Header("fe", kTrace, kSpan, "09") + "-x", 0x09},
  };
  for (const Case& c : cases) {
    std::optional<TraceContext> ctx = TraceContext::Parse(c.header);
    ASSERT_TRUE(ctx.has_value()) << c.header;
    EXPECT_EQ(Hex(ctx->trace_id), kTrace) << c.header;
    EXPECT_EQ(Hex(ctx->parent_span_id), kSpan) << c.header;  // the caller's span is our parent
    EXPECT_TRUE(AllZero(ctx->span_id)) << c.header;
    EXPECT_EQ(ctx->flags, c.flags) << c.header;
    EXPECT_TRUE(ctx->has_parent());
  }
}

TEST(TraceContextParseTest, RejectsMalformedHeaders) {
  const std::string zero_trace(32, '0');
  const std::string zero_span(16, '0');
  struct Case {
    std::string header;
    const char* why;
  };
  const Case cases[] = {
      {"", "empty"},
      {std::string(kValid.substr(0, 54)), "one character short"},
      {std::string(kValid) + "0", "version 00 with an extra character"},
      {std::string(kValid) + "-extra", "version 00 with an extra field"},
      {Header("ff", kTrace, kSpan, "01"), "version ff is invalid"},
      {Header("cc", kTrace, kSpan, "01") + "x", "future version, extra data without '-'"},
      {Header("0g", kTrace, kSpan, "01"), "non-hex version"},
      {Header("0A", kTrace, kSpan, "01"), "upper-case version"},
      {Header("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kSpan, "01"), "upper-case trace id"},
      {Header("00", kTrace, "00F067AA0BA902B7", "01"), "upper-case span id"},
      {Header("00", kTrace, kSpan, "0A"), "upper-case flags"},
      {Header("00", zero_trace, kSpan, "01"), "all-zero trace id"},
      {Header("00", kTrace, zero_span, "01"), "all-zero span id"},
      {Header("00", "4bf92f3577b34da6a3ce929d0e0e473g", kSpan, "01"), "non-hex trace id"},
      {Header("00", kTrace, kSpan, "0z"), "non-hex flags"},
      {Header("00", std::string(kTrace.substr(0, 31)), std::string(kSpan) + "0", "01"),
       "trace id one short, span one long"},
      {"00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", "wrong delimiters"},
      {std::string(55, '-'), "only dashes"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(TraceContext::Parse(c.header).has_value()) << c.why << ": " << c.header;
  }
}

TEST(TraceContextTest, ContinueKeepsTraceAndFlagsWithNewSpan) {
  TraceContext ctx = TraceContext::ContinueOrStart(kValid);
  EXPECT_EQ(Hex(ctx.trace_id), kTrace);
  EXPECT_EQ(ctx.flags, 0x01);
  EXPECT_EQ(Hex(ctx.parent_span_id), kSpan);
  EXPECT_TRUE(ctx.has_parent());
  EXPECT_FALSE(AllZero(ctx.span_id));
  EXPECT_NE(Hex(ctx.span_id), kSpan);
}

TEST(TraceContextTest, MissingOrInvalidHeaderStartsNewRootTrace) {
  const std::string bad_headers[] = {"", "garbage", Header("ff", kTrace, kSpan, "01"),
                                     Header("00", std::string(32, '0'), kSpan, "01")};
  for (const std::string& header : bad_headers) {
    TraceContext ctx = TraceContext::ContinueOrStart(header);
    EXPECT_FALSE(AllZero(ctx.trace_id)) << header;
    EXPECT_NE(Hex(ctx.trace_id), kTrace) << header;
    EXPECT_FALSE(AllZero(ctx.span_id)) << header;
    EXPECT_FALSE(ctx.has_parent()) << header;
    EXPECT_EQ(ctx.flags, 0) << header;
  }
}

TEST(TraceContextTest, ToHeaderIsW3cFormatAndRoundTripsThroughParse) {
  for (std::string_view incoming : {std::string_view(), kValid}) {
    TraceContext ctx = TraceContext::ContinueOrStart(incoming);
    TraceContext::HeaderBuf buf = ctx.ToHeader();
    std::string header(buf.data(), buf.size());
    ASSERT_EQ(header.size(), TraceContext::kHeaderSize);
    EXPECT_THAT(header, MatchesRegex("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"));

    std::optional<TraceContext> back = TraceContext::Parse(header);
    ASSERT_TRUE(back.has_value()) << header;
    EXPECT_EQ(back->trace_id, ctx.trace_id);
    EXPECT_EQ(back->parent_span_id, ctx.span_id);  // the next hop's parent is our span
    EXPECT_EQ(back->flags, ctx.flags);
  }
}

TEST(TraceContextTest, HexAccessorsMatchTheHeader) {
  TraceContext ctx = TraceContext::ContinueOrStart(kValid);
  TraceContext::HeaderBuf buf = ctx.ToHeader();
  std::string header(buf.data(), buf.size());
  std::array<char, 32> trace = ctx.TraceIdHex();
  std::array<char, 16> span = ctx.SpanIdHex();
  EXPECT_EQ(std::string(trace.data(), trace.size()), kTrace);
  EXPECT_EQ(std::string(span.data(), span.size()), header.substr(36, 16));
  EXPECT_EQ(std::string(span.data(), span.size()), Hex(ctx.span_id));
}

TEST(TraceContextTest, NewIdsDifferAcrossCalls) {
  std::set<std::string> traces;
  std::set<std::string> spans;
  constexpr int kCalls = 2000;
  for (int i = 0; i < kCalls; ++i) {
    TraceContext root = TraceContext::ContinueOrStart("");
    traces.insert(Hex(root.trace_id));
    spans.insert(Hex(TraceContext::ContinueOrStart(kValid).span_id));
  }
  EXPECT_EQ(traces.size(), static_cast<std::size_t>(kCalls));
  EXPECT_EQ(spans.size(), static_cast<std::size_t>(kCalls));
}

TEST(TraceContextTest, NewIdsDifferAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::mutex mu;
  std::set<std::string> traces;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < kPerThread; ++i) {
        mine.push_back(Hex(TraceContext::ContinueOrStart("").trace_id));
      }
      std::lock_guard<std::mutex> lock(mu);
      traces.insert(mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(traces.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(TraceStateTest, AcceptsValidAndRejectsInvalid) {
  struct Case {
    std::string value;
    bool valid;
  } cases[] = {
      {"", true},
      {"congo=t61rcWkgMzE", true},
      {"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", true},
      {"tenant@vendor=x , other=y", true},
      {"a=1,,b=2", true},
      {"Upper=1", false},
      {"a", false},
      {"a=", false},
      {"a=b=c", false},
      {"a=x ", true},  // trailing OWS around a member is allowed
      {"a=x\x01", false},
      {"1a=x", false},
      {"t@toolongsystemname=x", false},
      {"a@b@c=x", false},
      {std::string(513, 'a'), false},
  };
  for (const auto& c : cases) EXPECT_EQ(ValidTraceState(c.value), c.valid) << c.value;
  std::string members;
  for (int i = 0; i < 32; ++i) members += (i ? ",k" : "k") + std::to_string(i) + "=v";
  EXPECT_TRUE(ValidTraceState(members));
  EXPECT_FALSE(ValidTraceState(members + ",k32=v"));
}

}  // namespace
}  // namespace keel::obs
