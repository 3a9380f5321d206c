#include "keel/resilience/deadline.h"

#include <gtest/gtest.h>

namespace keel::resilience {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(Deadline, RemainingAndAttemptTimeout) {
  Clock::time_point now(seconds(100));
  Deadline d = Deadline::After(now, seconds(2));
  EXPECT_EQ(d.Remaining(now), seconds(2));
  EXPECT_EQ(d.AttemptTimeout(now, milliseconds(500)), milliseconds(500));
  EXPECT_EQ(d.AttemptTimeout(now + milliseconds(1800), milliseconds(500)), milliseconds(200));
  EXPECT_EQ(d.AttemptTimeout(now, Clock::duration::zero()), seconds(2));
  EXPECT_EQ(d.Remaining(now + seconds(3)), Clock::duration::zero());
  EXPECT_TRUE(d.Expired(now + seconds(2)));
}

TEST(Deadline, InfiniteNeverExpires) {
  Deadline d = Deadline::Infinite();
  Clock::time_point now(seconds(5));
  EXPECT_FALSE(d.Expired(now));
  EXPECT_EQ(d.Remaining(now), Clock::duration::max());
  EXPECT_EQ(d.ForAttempt(now, seconds(1)).when(), now + seconds(1));
  EXPECT_TRUE(Deadline::After(now, Clock::duration::max()).infinite());
}

TEST(ParseTimeoutHeader, Table) {
  struct Case {
    const char* in;
    std::optional<Clock::duration> want;
  } cases[] = {
      {"0", milliseconds(0)},
      {"1", milliseconds(1)},
      {"1500", milliseconds(1500)},
      {" 250\t", milliseconds(250)},
      {"9223372036854", milliseconds(9223372036854)},  // the most Clock::duration holds
      {"9223372036855", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"", std::nullopt},
      {"   ", std::nullopt},
      {"-5", std::nullopt},
      {"+5", std::nullopt},
      {"12ms", std::nullopt},
      {"1.5", std::nullopt},
      {"0x10", std::nullopt},
      {"1 2", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseTimeoutHeader(c.in), c.want) << "'" << c.in << "'";
}

TEST(FormatTimeoutMs, RoundsDownWithOneMillisecondFloor) {
  EXPECT_EQ(FormatTimeoutMs(milliseconds(1500) + nanoseconds(999999)), "1500");
  EXPECT_EQ(FormatTimeoutMs(nanoseconds(1)), "1");
  EXPECT_EQ(FormatTimeoutMs(Clock::duration::zero()), "0");
  EXPECT_EQ(FormatTimeoutMs(-seconds(1)), "0");
}

TEST(AppendTimeoutHeaderValue, AppendsMillisecondsRoundedDownWithOneMillisecondFloor) {
  struct Case {
    Clock::duration remaining;
    std::string want;
  };
  const Case cases[] = {
      {milliseconds(1500) + nanoseconds(999999), "1500"},
      {nanoseconds(1), "1"},
      {microseconds(999), "1"},
      {milliseconds(1), "1"},
      {seconds(30), "30000"},
      {Clock::duration::zero(), "0"},
      {-seconds(1), "0"},
  };
  for (const Case& c : cases) {
    std::string out = "v=";
    AppendTimeoutHeaderValue(&out, c.remaining);
    EXPECT_EQ(out, "v=" + c.want) << c.remaining.count() << " ns";
    EXPECT_TRUE(ParseTimeoutHeader(std::string_view(out).substr(2)).has_value());
  }
}

TEST(AppendTimeoutHeader, WritesAHeaderLineThatParsesBack) {
  std::string out = "GET / HTTP/1.1\r\n";
  AppendTimeoutHeader(&out, milliseconds(750));
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nx-envoy-expected-rq-timeout-ms: 750\r\n");
  EXPECT_EQ(ParseTimeoutHeader("750"), milliseconds(750));
}

}  // namespace
}  // namespace keel::resilience
