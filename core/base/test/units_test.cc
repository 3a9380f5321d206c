#include "keel/base/units.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace keel {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

// Every parser names the offending text in its error, quoted.
void ExpectInvalid(const Status& st, std::string_view text) {
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << "input '" << text << "'";
  EXPECT_THAT(st.message(), HasSubstr("'" + std::string(text) + "'"));
}

TEST(ParseDurationTest, AcceptsEveryUnit) {
  struct Case {
    std::string_view text;
    Duration want;
  };
  const Case cases[] = {
      {"0", nanoseconds(0)},
      {"0s", nanoseconds(0)},
      {"7ns", nanoseconds(7)},
      {"100us", microseconds(100)},
      {"250ms", milliseconds(250)},
      {"10s", seconds(10)},
      {"1m", minutes(1)},
      {"2h", hours(2)},
      {"30d", hours(30 * 24)},
      {"1.5s", milliseconds(1500)},
      {"0.5ms", microseconds(500)},
      {".25s", milliseconds(250)},
  };
  for (const Case& c : cases) {
    StatusOr<Duration> got = ParseDuration(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
    EXPECT_EQ(got->count(), c.want.count()) << c.text;
  }
}

TEST(ParseDurationTest, RejectsMalformedText) {
  const std::string_view cases[] = {
      "",       // nothing
      "ms",     // no number
      "10",     // non-zero without a unit
      "-1s",    // negative
      "1w",     // unknown unit
      "1S",     // units are case-sensitive
      "10 s",   // space before the unit
      "1.2.3s", // two decimal points
      "1e3s",   // no exponents
      "s10",    // unit first
  };
  for (std::string_view text : cases) {
    StatusOr<Duration> got = ParseDuration(text);
    ASSERT_FALSE(got.ok()) << "accepted '" << text << "'";
    ExpectInvalid(got.status(), text);
  }
}

TEST(ParseDurationTest, RejectsValuesTooLargeForNanoseconds) {
  StatusOr<Duration> got = ParseDuration("1000000000h");
  ASSERT_FALSE(got.ok());
  ExpectInvalid(got.status(), "1000000000h");
  EXPECT_THAT(got.status().message(), HasSubstr("too large"));
}

TEST(ParseByteSizeTest, AcceptsDecimalAndBinaryUnits) {
  struct Case {
    std::string_view text;
    std::uint64_t want;
  };
  const Case cases[] = {
      {"0", 0},
      {"8192", 8192},
      {"10B", 10},
      {"1KB", 1000},
      {"2MB", 2000000},
      {"3GB", 3000000000ULL},
      {"16KiB", 16384},
      {"1MiB", 1048576},
      {"1GiB", 1073741824ULL},
      {"1.5KiB", 1536},
  };
  for (const Case& c : cases) {
    StatusOr<std::uint64_t> got = ParseByteSize(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseByteSizeTest, RejectsMalformedText) {
  const std::string_view cases[] = {
      "",        // nothing
      "KiB",     // no number
      "-1",      // negative
      "1kb",     // units are case-sensitive
      "1TiB",    // unknown unit
      "1 KiB",   // space before the unit
      "1.2.3",   // two decimal points
  };
  for (std::string_view text : cases) {
    StatusOr<std::uint64_t> got = ParseByteSize(text);
    ASSERT_FALSE(got.ok()) << "accepted '" << text << "'";
    ExpectInvalid(got.status(), text);
  }
}

TEST(ParseByteSizeTest, RejectsValuesTooLarge) {
  StatusOr<std::uint64_t> got = ParseByteSize("2000000000GB");
  ASSERT_FALSE(got.ok());
  ExpectInvalid(got.status(), "2000000000GB");
  EXPECT_THAT(got.status().message(), HasSubstr("too large"));
}

TEST(ParseIntTest, AcceptsTheFullInt64Range) {
  struct Case {
    std::string_view text;
    std::int64_t want;
  };
  const Case cases[] = {
      {"0", 0},
      {"42", 42},
      {"-7", -7},
      {"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<std::int64_t>::min()},
  };
  for (const Case& c : cases) {
    StatusOr<std::int64_t> got = ParseInt(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseIntTest, RejectsMalformedText) {
  const std::string_view cases[] = {
      "",                     // nothing
      "two",                  // words
      "+5",                   // explicit plus sign
      "1.0",                  // fraction
      "12a",                  // trailing junk
      " 1",                   // leading space
      "1 ",                   // trailing space
      "9223372036854775808",  // overflows int64
  };
  for (std::string_view text : cases) {
    StatusOr<std::int64_t> got = ParseInt(text);
    ASSERT_FALSE(got.ok()) << "accepted '" << text << "'";
    ExpectInvalid(got.status(), text);
  }
}

TEST(ParseBoolTest, AcceptsTheDocumentedSpellings) {
  struct Case {
    std::string_view text;
    bool want;
  };
  const Case cases[] = {
      {"true", true},   {"1", true},  {"yes", true}, {"on", true},
      {"false", false}, {"0", false}, {"no", false}, {"off", false},
  };
  for (const Case& c : cases) {
    StatusOr<bool> got = ParseBool(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseBoolTest, RejectsOtherSpellings) {
  const std::string_view cases[] = {"", "TRUE", "True", "2", "y", "enabled", " true"};
  for (std::string_view text : cases) {
    StatusOr<bool> got = ParseBool(text);
    ASSERT_FALSE(got.ok()) << "accepted '" << text << "'";
    ExpectInvalid(got.status(), text);
  }
}

TEST(ParseHostPortTest, SplitsHostAndPort) {
  struct Case {
    std::string_view text;
    std::string_view host;
    std::uint16_t port;
  };
  const Case cases[] = {
      {"127.0.0.1:8080", "127.0.0.1", 8080},
      {"localhost:0", "localhost", 0},
      {"example.com:65535", "example.com", 65535},
      {":9000", "0.0.0.0", 9000},  // empty host means all interfaces
      {"[::1]:80", "::1", 80},
      {"[2001:db8::7]:443", "2001:db8::7", 443},
  };
  for (const Case& c : cases) {
    StatusOr<HostPort> got = ParseHostPort(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
    EXPECT_EQ(got->host, c.host) << c.text;
    EXPECT_EQ(got->port, c.port) << c.text;
  }
}

TEST(ParseHostPortTest, RejectsBadAddressesAndPorts) {
  const std::string_view cases[] = {
      "",                  // nothing
      "localhost",         // no port
      "localhost:",        // empty port
      "localhost:65536",   // port above 65535
      "localhost:-1",      // negative port
      "localhost:http",    // named port
      "localhost:80 ",     // trailing space
      "[::1]",             // IPv6 without a port
      "[::1]80",           // missing ':' after ']'
      "[::1:80",           // unterminated '['
      "[::1]:",            // IPv6 with an empty port
      "[::1]:99999",       // IPv6 with a port above 65535
  };
  for (std::string_view text : cases) {
    StatusOr<HostPort> got = ParseHostPort(text);
    ASSERT_FALSE(got.ok()) << "accepted '" << text << "'";
    ExpectInvalid(got.status(), text);
  }
}

TEST(FormatDurationTest, UsesTheLargestExactUnit) {
  struct Case {
    Duration d;
    std::string_view want;
  };
  const Case cases[] = {
      {nanoseconds(0), "0s"},
      {seconds(10), "10s"},
      {minutes(2), "120s"},
      {milliseconds(250), "250ms"},
      {milliseconds(1500), "1500ms"},
      {microseconds(1500), "1500us"},
      {nanoseconds(7), "7ns"},
      {nanoseconds(1000001), "1000001ns"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatDuration(c.d), c.want) << c.d.count() << "ns";
  }
}

TEST(FormatDurationTest, RoundTripsThroughParseDuration) {
  const Duration cases[] = {nanoseconds(0),     nanoseconds(1),      microseconds(3),
                            milliseconds(250),  milliseconds(1500),  seconds(1),
                            minutes(90),        nanoseconds(123456789)};
  for (Duration d : cases) {
    std::string text = FormatDuration(d);
    StatusOr<Duration> back = ParseDuration(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status().message();
    EXPECT_EQ(back->count(), d.count()) << text;
  }
}

}  // namespace
}  // namespace keel
