#include "keel/load/rate_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace keel::load {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

RateProfile MustParseRate(std::string_view text, Duration duration) {
  StatusOr<RateProfile> p = RateProfile::ParseRate(text, duration);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status().message();
  return *p;
}

RateProfile MustParseStages(std::string_view text) {
  StatusOr<RateProfile> p = RateProfile::ParseStages(text);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status().message();
  return *p;
}

std::int64_t Nanos(std::optional<Duration> d) { return d.has_value() ? d->count() : -1; }
std::int64_t Ns(Duration d) { return d.count(); }

TEST(RateProfileTest, ConstantRateSpacesRequestsEvenly) {
  RateProfile p = MustParseRate("1000", seconds(1));
  for (std::uint64_t k = 0; k < 1000; ++k) {
    ASSERT_EQ(Nanos(p.IntendedTime(k)), static_cast<std::int64_t>(k) * 1'000'000) << k;
  }
  EXPECT_EQ(p.IntendedTime(1000), std::nullopt);
  EXPECT_DOUBLE_EQ(p.ExpectedCount(seconds(1)), 1000);
}

TEST(RateProfileTest, ConstantScheduleIsKOverRateForManyRates) {
  const double rates[] = {0.5, 3, 7.5, 1000, 123'456.789};
  for (double rate : rates) {
    RateProfile p = *RateProfile::Constant(rate, seconds(20));
    const auto expected_total = static_cast<std::uint64_t>(std::ceil(rate * 20));
    for (std::uint64_t k = 0; k < expected_total; k += 1 + expected_total / 5000) {
      const double want_ns = static_cast<double>(k) / rate * 1e9;
      ASSERT_NEAR(static_cast<double>(Nanos(p.IntendedTime(k))), want_ns, 1.0)
          << "rate " << rate << " k " << k;
    }
    EXPECT_NE(p.IntendedTime(expected_total - 1), std::nullopt) << rate;
    EXPECT_EQ(p.IntendedTime(expected_total), std::nullopt) << rate;
  }
}

TEST(RateProfileTest, FractionalRateSendsEveryTwoSeconds) {
  RateProfile p = MustParseRate("0.5", seconds(10));
  EXPECT_EQ(Nanos(p.IntendedTime(0)), 0);
  EXPECT_EQ(Nanos(p.IntendedTime(1)), Ns(seconds(2)));
  EXPECT_EQ(Nanos(p.IntendedTime(4)), Ns(seconds(8)));
  EXPECT_EQ(p.IntendedTime(5), std::nullopt);
}

TEST(RateProfileTest, RampExpectedCountIsTheIntegral) {
  const double r0 = 1000, r1 = 20000, length = 30;
  RateProfile p = MustParseRate("1000:20000", seconds(30));
  for (double t = 0; t <= length; t += 0.37) {
    const double want = r0 * t + (r1 - r0) * t * t / (2 * length);
    const auto at = nanoseconds(std::llround(t * 1e9));
    EXPECT_NEAR(p.ExpectedCount(at), want, 1e-6 * want + 1e-9) << t;
    EXPECT_NEAR(p.RateAt(at), r0 + (r1 - r0) * t / length, 1e-6) << t;
  }
  EXPECT_DOUBLE_EQ(p.ExpectedCount(seconds(30)), (r0 + r1) / 2 * length);
  EXPECT_DOUBLE_EQ(p.ExpectedCount(seconds(99)), (r0 + r1) / 2 * length);
  EXPECT_DOUBLE_EQ(p.ExpectedCount(seconds(-1)), 0);
}

// IntendedTime inverts ExpectedCount and never goes backwards, ramping up
// (including from 0) and down (to 0, where the discriminant reaches 0).
TEST(RateProfileTest, RampIntendedTimeIsTheMonotonicInverseOfExpectedCount) {
  struct Case {
    std::string_view rate;
    double total;
  };
  const Case cases[] = {{"1000:20000", 315'000}, {"0:5000", 75'000}, {"5000:0", 75'000},
                        {"100:100.000001", 3000.000015}};
  for (const Case& c : cases) {
    RateProfile p = MustParseRate(c.rate, seconds(30));
    std::int64_t previous = -1;
    const auto last = static_cast<std::uint64_t>(std::ceil(c.total)) - 1;
    for (std::uint64_t k = 0; k <= last; ++k) {
      std::optional<Duration> t = p.IntendedTime(k);
      ASSERT_TRUE(t.has_value()) << c.rate << " k " << k;
      ASSERT_GE(t->count(), previous) << c.rate << " k " << k;
      ASSERT_LE(*t, seconds(30));
      // Rounding to whole nanoseconds moves the count by at most rate * 0.5ns.
      ASSERT_NEAR(p.ExpectedCount(*t), static_cast<double>(k), 1e-4) << c.rate << " k " << k;
      previous = t->count();
    }
    EXPECT_EQ(p.IntendedTime(last + 1), std::nullopt) << c.rate;
  }
}

TEST(RateProfileTest, RampFromZeroSendsFirstRequestAtStart) {
  RateProfile p = MustParseRate("0:1000", seconds(2));
  EXPECT_EQ(Nanos(p.IntendedTime(0)), 0);
  // count(t) = 250 t^2, so request 1 is due at sqrt(1/250) s.
  EXPECT_NEAR(static_cast<double>(Nanos(p.IntendedTime(1))), std::sqrt(1.0 / 250) * 1e9, 1);
}

TEST(RateProfileTest, StagesSkipAPause) {
  RateProfile p = MustParseStages("1s@1000,2s@0,1s@500");
  ASSERT_EQ(p.segments().size(), 3u);
  EXPECT_EQ(p.total_duration(), seconds(4));
  EXPECT_EQ(Nanos(p.IntendedTime(999)), Ns(milliseconds(999)));
  // Nothing is due inside the pause: request 1000 waits for its end.
  EXPECT_EQ(Nanos(p.IntendedTime(1000)), Ns(seconds(3)));
  EXPECT_EQ(Nanos(p.IntendedTime(1001)), Ns(milliseconds(3002)));
  EXPECT_EQ(Nanos(p.IntendedTime(1499)), Ns(milliseconds(3998)));
  EXPECT_EQ(p.IntendedTime(1500), std::nullopt);
  for (std::uint64_t k = 0; k < 1500; ++k) {
    const Duration t = *p.IntendedTime(k);
    ASSERT_TRUE(t < seconds(1) || t >= seconds(3)) << "request " << k << " due in the pause";
  }
  EXPECT_DOUBLE_EQ(p.ExpectedCount(seconds(2)), 1000);
  EXPECT_DOUBLE_EQ(p.RateAt(milliseconds(1500)), 0);
  EXPECT_DOUBLE_EQ(p.RateAt(milliseconds(3500)), 500);
}

TEST(RateProfileTest, LeadingPauseDelaysTheFirstRequest) {
  RateProfile p = MustParseStages("2s@0,1s@10");
  EXPECT_EQ(Nanos(p.IntendedTime(0)), Ns(seconds(2)));
  EXPECT_EQ(Nanos(p.IntendedTime(9)), Ns(milliseconds(2900)));
  EXPECT_EQ(p.IntendedTime(10), std::nullopt);
}

TEST(RateProfileTest, TrailingPauseEndsTheScheduleEarly) {
  RateProfile p = MustParseStages("10s@1000,30s@5000,10s@0");
  EXPECT_EQ(p.total_duration(), seconds(50));
  EXPECT_EQ(Nanos(p.IntendedTime(10'000)), Ns(seconds(10)));
  EXPECT_EQ(Nanos(p.IntendedTime(159'999)), Ns(seconds(40)) - 200'000);
  EXPECT_EQ(p.IntendedTime(160'000), std::nullopt);
  EXPECT_EQ(p.IntendedTime(std::numeric_limits<std::uint64_t>::max()), std::nullopt);
  EXPECT_DOUBLE_EQ(p.ExpectedCount(seconds(45)), 160'000);
  EXPECT_DOUBLE_EQ(p.RateAt(seconds(45)), 0);
  EXPECT_DOUBLE_EQ(p.RateAt(seconds(50)), 0);
  EXPECT_DOUBLE_EQ(p.RateAt(seconds(-1)), 0);
}

TEST(RateProfileTest, ParsesValidSpecs) {
  struct Case {
    std::string_view text;
    double start, end;
  };
  const Case cases[] = {{"1000", 1000, 1000}, {"0.5", 0.5, 0.5}, {"1000:20000", 1000, 20000},
                        {"0:10", 0, 10},      {"10:0", 10, 0},   {"1e3", 1000, 1000}};
  for (const Case& c : cases) {
    RateProfile p = MustParseRate(c.text, seconds(5));
    ASSERT_EQ(p.segments().size(), 1u) << c.text;
    EXPECT_EQ(p.segments()[0].duration, seconds(5)) << c.text;
    EXPECT_DOUBLE_EQ(p.segments()[0].start_rate, c.start) << c.text;
    EXPECT_DOUBLE_EQ(p.segments()[0].end_rate, c.end) << c.text;
  }
}

TEST(RateProfileTest, RejectsBadRatesNamingTheText) {
  const std::string_view cases[] = {"",    "abc", "-5",     "nan",   "inf",   "1000:", ":5",
                                    "1:2:3", "0",  "0:0",   "10x",   " 5",    "5 ",    "-1:5",
                                    "1:nan", "+5", "0x10"};
  for (std::string_view text : cases) {
    StatusOr<RateProfile> p = RateProfile::ParseRate(text, seconds(10));
    ASSERT_FALSE(p.ok()) << "'" << text << "'";
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(p.status().message(), HasSubstr("'" + std::string(text) + "'"));
    EXPECT_EQ(p.status().message().find('\n'), std::string::npos);
  }
}

TEST(RateProfileTest, RejectsNonPositiveDuration) {
  EXPECT_EQ(RateProfile::ParseRate("1000", seconds(0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RateProfile::ParseRate("1000", seconds(-1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(RateProfile::Constant(1000, seconds(0)).ok());
}

TEST(RateProfileTest, ConstantRejectsNegativeNanAndZeroRates) {
  const double cases[] = {-1, std::nan(""), 0, std::numeric_limits<double>::infinity()};
  for (double rate : cases) {
    StatusOr<RateProfile> p = RateProfile::Constant(rate, seconds(1));
    ASSERT_FALSE(p.ok()) << rate;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << rate;
  }
}

TEST(RateProfileTest, RejectsBadStagesNamingTheStage) {
  struct Case {
    std::string_view text;
    std::string_view named;  // what the message must quote
  };
  const Case cases[] = {
      {"", ""},
      {"10s", "10s"},
      {"10s@", "10s@"},
      {"@100", "@100"},
      {"abc@100", "abc@100"},
      {"10@100", "10@100"},
      {"10s@-1", "10s@-1"},
      {"10s@nan", "10s@nan"},
      {"0s@10", "0s@10"},
      {"10s@10,", ""},
      {"10s@10,,5s@1", ""},
      {"10s@10;5s@1", "10s@10;5s@1"},
      {"10s@0", "10s@0"},
      {"10s@0,5s@0", "10s@0,5s@0"},
  };
  for (const Case& c : cases) {
    StatusOr<RateProfile> p = RateProfile::ParseStages(c.text);
    ASSERT_FALSE(p.ok()) << "'" << c.text << "'";
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(p.status().message(), HasSubstr("'" + std::string(c.named) + "'")) << c.text;
  }
}

}  // namespace
}  // namespace keel::load
