#include "keel/load/slo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keel::load {
namespace {

using ::testing::HasSubstr;
using Kind = Bound::Kind;
using Op = Bound::Op;

Bound MustParseOne(std::string_view text) {
  StatusOr<std::vector<Bound>> bounds = ParseSlo(text);
  EXPECT_TRUE(bounds.ok()) << text << ": " << bounds.status().message();
  if (!bounds.ok() || bounds->size() != 1) {
    ADD_FAILURE() << text << " did not parse to one bound";
    return Bound{};
  }
  return bounds->front();
}

TEST(ParseSloTest, ReadsEachKindOfClause) {
  struct Case {
    std::string_view text;
    Kind kind;
    double percentile;
    Op op;
    double limit;
  };
  const Case cases[] = {
      {"p99<5ms", Kind::kPercentile, 99, Op::kLt, 5000},
      {"p99.9<=20ms", Kind::kPercentile, 99.9, Op::kLe, 20000},
      {"p50>1us", Kind::kPercentile, 50, Op::kGt, 1},
      {"p99.99>=1.5s", Kind::kPercentile, 99.99, Op::kGe, 1'500'000},
      {"p100<250us", Kind::kPercentile, 100, Op::kLt, 250},
      {"p0.1<2000ns", Kind::kPercentile, 0.1, Op::kLt, 2},
      {"max<1s", Kind::kMax, 0, Op::kLt, 1'000'000},
      {"max <= 1m", Kind::kMax, 0, Op::kLe, 60'000'000},
      {"errors<0.1%", Kind::kErrors, 0, Op::kLt, 0.001},
      {"errors<=0.001", Kind::kErrors, 0, Op::kLe, 0.001},
      {"errors<100%", Kind::kErrors, 0, Op::kLt, 1},
      {"errors<0%", Kind::kErrors, 0, Op::kLt, 0},
      {"rate>=0.99", Kind::kRate, 0, Op::kGe, 0.99},
      {"rate>99%", Kind::kRate, 0, Op::kGt, 0.99},
      {"rate<1.05", Kind::kRate, 0, Op::kLt, 1.05},
  };
  for (const Case& c : cases) {
    Bound b = MustParseOne(c.text);
    EXPECT_EQ(b.kind, c.kind) << c.text;
    EXPECT_DOUBLE_EQ(b.percentile, c.percentile) << c.text;
    EXPECT_EQ(b.op, c.op) << c.text;
    EXPECT_DOUBLE_EQ(b.limit, c.limit) << c.text;
    EXPECT_EQ(b.text, c.text) << c.text;
  }
}

TEST(ParseSloTest, ReadsAListInOrder) {
  StatusOr<std::vector<Bound>> bounds = ParseSlo("p99<5ms,p99.9<20ms, errors<0.1%,rate>=0.99");
  ASSERT_TRUE(bounds.ok()) << bounds.status().message();
  ASSERT_EQ(bounds->size(), 4u);
  EXPECT_EQ((*bounds)[0].text, "p99<5ms");
  EXPECT_EQ((*bounds)[1].text, "p99.9<20ms");
  EXPECT_EQ((*bounds)[2].text, "errors<0.1%");
  EXPECT_EQ((*bounds)[3].text, "rate>=0.99");
  EXPECT_EQ((*bounds)[2].kind, Kind::kErrors);
  // The percent form is exactly the fraction it names.
  EXPECT_EQ((*bounds)[2].limit, 1.0 / 1000);
}

TEST(ParseSloTest, RejectsUnreadableClausesNamingThem) {
  struct Case {
    std::string_view text;
    std::string_view clause;
  };
  const Case cases[] = {
      {"", ""},
      {"p99", "p99"},
      {"p99<", "p99<"},
      {"<5ms", "<5ms"},
      {"p99<5", "p99<5"},
      {"p99<5xs", "p99<5xs"},
      {"p99<-5ms", "p99<-5ms"},
      {"p101<5ms", "p101<5ms"},
      {"p0<5ms", "p0<5ms"},
      {"p<5ms", "p<5ms"},
      {"pabc<5ms", "pabc<5ms"},
      {"p-1<5ms", "p-1<5ms"},
      {"p1e2<5ms", "p1e2<5ms"},
      {"p99=5ms", "p99=5ms"},
      {"p99==5ms", "p99==5ms"},
      {"p99<<5ms", "p99<<5ms"},
      {"p99=<5ms", "p99=<5ms"},
      {"latency<5ms", "latency<5ms"},
      {"max<", "max<"},
      {"errors<abc", "errors<abc"},
      {"errors<-1%", "errors<-1%"},
      {"errors<101%", "errors<101%"},
      {"errors<2", "errors<2"},
      {"errors<0.1%%", "errors<0.1%%"},
      {"errors<5ms", "errors<5ms"},
      {"errors<nan", "errors<nan"},
      {"rate>=x", "rate>=x"},
      {"rate>=-1", "rate>=-1"},
      {"rate>=inf", "rate>=inf"},
      {"p99<5ms,", ""},
      {"p99<5ms,,max<1s", ""},
      {"p99<5ms,p99<oops", "p99<oops"},
  };
  for (const Case& c : cases) {
    StatusOr<std::vector<Bound>> bounds = ParseSlo(c.text);
    ASSERT_FALSE(bounds.ok()) << "'" << c.text << "'";
    EXPECT_EQ(bounds.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(bounds.status().message(), HasSubstr("'" + std::string(c.clause) + "'"))
        << c.text;
    EXPECT_EQ(bounds.status().message().find('\n'), std::string::npos);
  }
}

// 1..1000 µs once each: with 3 significant figures every value below 2048 has
// its own bucket, so percentiles are exact ranks.
class SloMeasureTest : public ::testing::Test {
 protected:
  SloMeasureTest() : histogram_(obs::LatencyHistogram::ForLatencyMicros()) {
    for (std::int64_t v = 1; v <= 1000; ++v) histogram_.Record(v);
    window_.corrected = &histogram_;
    window_.completed = 990;
    window_.errors = 10;
    window_.requested_rate = 1000;
    window_.achieved_rate = 990;
  }
  obs::LatencyHistogram histogram_;
  SloWindow window_;
};

TEST_F(SloMeasureTest, MeasuresEachQuantity) {
  struct Case {
    std::string_view text;
    double want;
  };
  const Case cases[] = {
      {"p50<1s", 500},    {"p99<1s", 990},      {"p99.9<1s", 999},  {"p100<1s", 1000},
      {"max<1s", 1000},   {"errors<1%", 0.01},  {"rate>=0.5", 0.99},
  };
  for (const Case& c : cases) {
    EXPECT_DOUBLE_EQ(Measure(MustParseOne(c.text), window_), c.want) << c.text;
  }
}

TEST_F(SloMeasureTest, HoldsAppliesTheOperator) {
  struct Case {
    std::string_view text;
    bool holds;
  };
  const Case cases[] = {
      {"p99<5ms", true},       {"p99<990us", false},   {"p99<=990us", true},
      {"p99>990us", false},    {"p99>=990us", true},   {"p50>400us", true},
      {"max<1ms", false},      {"max<=1ms", true},     {"errors<1%", false},
      {"errors<=1%", true},    {"errors<=0.01", true}, {"errors<0.1%", false},
      {"rate>=0.99", true},    {"rate>0.99", false},   {"rate>=99%", true},
      {"rate<1.05", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Holds(MustParseOne(c.text), window_), c.holds) << c.text;
  }
}

TEST_F(SloMeasureTest, RateFallsShortWhenAchievedLags) {
  window_.achieved_rate = 980;
  EXPECT_FALSE(Holds(MustParseOne("rate>=0.99"), window_));
  EXPECT_DOUBLE_EQ(Measure(MustParseOne("rate>=0.99"), window_), 0.98);
}

TEST_F(SloMeasureTest, ClosedLoopPassesEveryRateBound) {
  window_.requested_rate = 0;
  window_.achieved_rate = 12345;
  EXPECT_DOUBLE_EQ(Measure(MustParseOne("rate>=0.99"), window_), 1.0);
  EXPECT_TRUE(Holds(MustParseOne("rate>=0.99"), window_));
  EXPECT_TRUE(Holds(MustParseOne("rate<0.5"), window_));
}

TEST_F(SloMeasureTest, EmptyWindowPassesLatencyAndErrorBounds) {
  obs::LatencyHistogram empty = obs::LatencyHistogram::ForLatencyMicros();
  SloWindow window;
  window.corrected = &empty;
  window.requested_rate = 1000;
  window.achieved_rate = 0;
  for (std::string_view text : {"p99<1us", "p99>1s", "max>1s", "errors>50%", "errors<0%"}) {
    EXPECT_TRUE(Holds(MustParseOne(text), window)) << text;
  }
  EXPECT_DOUBLE_EQ(Measure(MustParseOne("errors<1%"), window), 0);
  EXPECT_DOUBLE_EQ(Measure(MustParseOne("p99<1ms"), window), 0);
  // The rate bound still judges an open-loop window that sent nothing.
  EXPECT_FALSE(Holds(MustParseOne("rate>=0.99"), window));
}

TEST_F(SloMeasureTest, AllErroredWindowIsJudged) {
  window_.completed = 0;
  window_.errors = 5;
  EXPECT_DOUBLE_EQ(Measure(MustParseOne("errors<1%"), window_), 1.0);
  EXPECT_FALSE(Holds(MustParseOne("errors<1%"), window_));
  EXPECT_TRUE(Holds(MustParseOne("errors<=100%"), window_));
}

TEST(ParseSloTest, RecordsTheUnitTheLimitWasWrittenIn) {
  struct Case {
    const char* clause;
    const char* unit;
    double measured;     // as Measure() returns it: µs or a fraction
    double in_unit;      // as the report prints it
  };
  const Case cases[] = {
      {"p99<5ms", "ms", 2500, 2.5},   {"p99<500us", "us", 250, 250}, {"max<2s", "s", 1.5e6, 1.5},
      {"p50<1m", "m", 3e7, 0.5},      {"p99<900ns", "ns", 0.5, 500}, {"errors<0.1%", "%", 0.002, 0.2},
      {"errors<0.01", "", 0.002, 0.002}, {"rate>=99%", "%", 0.98, 98}, {"rate>=0.99", "", 0.98, 0.98},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.clause);
    auto bounds = ParseSlo(c.clause);
    ASSERT_TRUE(bounds.ok()) << bounds.status().message();
    EXPECT_EQ((*bounds)[0].unit, c.unit);
    EXPECT_NEAR(InBoundUnit((*bounds)[0], c.measured), c.in_unit, 1e-9 * c.in_unit);
  }
}

}  // namespace
}  // namespace keel::load
