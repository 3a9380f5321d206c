#include "keel/obs/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace keel::obs {
namespace {

LatencyHistogram MustCreate(int64_t lowest, int64_t highest, int sigfigs) {
  StatusOr<LatencyHistogram> h = LatencyHistogram::Create(lowest, highest, sigfigs);
  EXPECT_TRUE(h.ok()) << h.status().message();
  return std::move(h).value();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(LatencyHistogramTest, CreateRejectsBadArguments) {
  struct Case {
    int64_t lowest, highest;
    int sigfigs;
  };
  const Case cases[] = {
      {0, 1000, 3},                             // lowest < 1
      {-5, 1000, 3},                            // lowest < 1
      {1, 1, 3},                                // highest < 2 * lowest
      {10, 19, 3},                              // highest < 2 * lowest
      {1, 1000, 0},                             // sigfigs < 1
      {1, 1000, 6},                             // sigfigs > 5
      {int64_t{1} << 50, int64_t{1} << 52, 5},  // unit + sub-bucket magnitude > 61
  };
  for (const Case& c : cases) {
    StatusOr<LatencyHistogram> h = LatencyHistogram::Create(c.lowest, c.highest, c.sigfigs);
    ASSERT_FALSE(h.ok()) << c.lowest << " " << c.highest << " " << c.sigfigs;
    EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(LatencyHistogramTest, LayoutMatchesHdrHistogram) {
  // Expected values printed by HdrHistogram Java 2.2 (countsArrayLength,
  // bucketCount, subBucketCount) for the same constructor arguments.
  struct Case {
    int64_t lowest, highest;
    int sigfigs, counts_len, bucket_count, sub_bucket_count;
  };
  const Case cases[] = {
      {1, 3'600'000'000, 3, 23552, 22, 2048},
      {1, 2, 1, 32, 1, 32},
      {1, std::numeric_limits<int64_t>::max(), 1, 960, 59, 32},
      {1000, 3'600'000'000, 3, 14336, 13, 2048},
      {1, 1'000'000, 2, 1792, 13, 256},
      {1, 60'000'000, 5, 1310720, 9, 262144},
      {7, 1000, 4, 32768, 1, 32768},
      {1024, int64_t{1} << 40, 3, 22528, 21, 2048},
  };
  for (const Case& c : cases) {
    LatencyHistogram h = MustCreate(c.lowest, c.highest, c.sigfigs);
    EXPECT_EQ(h.counts_len(), c.counts_len) << c.lowest << " " << c.highest << " " << c.sigfigs;
    EXPECT_EQ(h.bucket_count(), c.bucket_count);
    EXPECT_EQ(h.sub_bucket_count(), c.sub_bucket_count);
  }
}

TEST(LatencyHistogramTest, ForLatencyMicrosCoversOneMicrosecondToOneHour) {
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  EXPECT_EQ(h.lowest_discernible_value(), 1);
  EXPECT_EQ(h.highest_trackable_value(), 3'600'000'000);
  EXPECT_EQ(h.significant_figures(), 3);
  EXPECT_EQ(h.counts_len(), 23552);
}

TEST(LatencyHistogramTest, EquivalentValuesMatchHdrHistogram) {
  // {value, lowest, highest, median, size} from HdrHistogram Java.
  struct Case {
    int64_t value, lowest, highest, median, size;
  };
  LatencyHistogram fine = MustCreate(1, 3'600'000'000, 3);
  const Case fine_cases[] = {
      {1, 1, 1, 1, 1},
      {2500, 2500, 2501, 2501, 2},
      {8191, 8188, 8191, 8190, 4},
      {8192, 8192, 8199, 8196, 8},
      {10007, 10000, 10007, 10004, 8},
      {10009, 10008, 10015, 10012, 8},
      {9995, 9992, 9999, 9996, 8},
      {4000, 4000, 4001, 4001, 2},
      {8000, 8000, 8003, 8002, 4},
      {1000000, 999936, 1000447, 1000192, 512},
      {3599999999, 3598712832, 3600809983, 3599761408, 2097152},
  };
  for (const Case& c : fine_cases) {
    EXPECT_EQ(fine.LowestEquivalentValue(c.value), c.lowest) << c.value;
    EXPECT_EQ(fine.HighestEquivalentValue(c.value), c.highest) << c.value;
    EXPECT_EQ(fine.MedianEquivalentValue(c.value), c.median) << c.value;
    EXPECT_EQ(fine.SizeOfEquivalentValueRange(c.value), c.size) << c.value;
  }
  LatencyHistogram coarse = MustCreate(1000, 3'600'000'000, 3);  // unit magnitude 9
  const Case coarse_cases[] = {
      {0, 0, 511, 256, 512},
      {999, 512, 1023, 768, 512},
      {2048, 2048, 2559, 2304, 512},
      {1048576, 1048576, 1049599, 1049088, 1024},
      {5000000, 4997120, 5001215, 4999168, 4096},
  };
  for (const Case& c : coarse_cases) {
    EXPECT_EQ(coarse.LowestEquivalentValue(c.value), c.lowest) << c.value;
    EXPECT_EQ(coarse.HighestEquivalentValue(c.value), c.highest) << c.value;
    EXPECT_EQ(coarse.MedianEquivalentValue(c.value), c.median) << c.value;
    EXPECT_EQ(coarse.SizeOfEquivalentValueRange(c.value), c.size) << c.value;
  }
  EXPECT_TRUE(fine.ValuesAreEquivalent(10000, 10007));
  EXPECT_FALSE(fine.ValuesAreEquivalent(10007, 10008));
}

TEST(LatencyHistogramTest, IndexAndValueRoundTrip) {
  LatencyHistogram h = MustCreate(1, 3'600'000'000, 3);
  for (int i = 0; i < h.counts_len(); ++i) {
    const int64_t v = h.value_at_index(i);
    ASSERT_EQ(h.LowestEquivalentValue(v), v) << i;
    if (i > 0) {
      ASSERT_LT(h.value_at_index(i - 1), v) << i;
    }
  }
}

enum class Distribution { kUniform, kExponential, kLogNormal };

struct PercentileCase {
  Distribution distribution;
  uint32_t seed;
};

class PercentileAccuracyTest : public ::testing::TestWithParam<PercentileCase> {};

std::vector<int64_t> Samples(Distribution d, uint32_t seed, int n) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> uniform(0, 5'000'000);
  std::exponential_distribution<double> exponential(1.0 / 2000.0);
  std::lognormal_distribution<double> lognormal(std::log(1000.0), 1.5);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    double v = 0;
    switch (d) {
      case Distribution::kUniform:
        v = static_cast<double>(uniform(rng));
        break;
      case Distribution::kExponential:
        v = exponential(rng);
        break;
      case Distribution::kLogNormal:
        v = lognormal(rng);
        break;
    }
    out.push_back(std::min<int64_t>(std::llround(v), 3'600'000'000));
  }
  return out;
}

TEST_P(PercentileAccuracyTest, PercentilesMatchExactWithinRelativeError) {
  constexpr int kN = 100'000;
  std::vector<int64_t> samples = Samples(GetParam().distribution, GetParam().seed, kN);
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  for (int64_t v : samples) ASSERT_TRUE(h.Record(v));
  std::sort(samples.begin(), samples.end());

  for (double p : {0.0, 1.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const int64_t rank = std::max<int64_t>(1, std::llround(p / 100.0 * kN));
    const int64_t exact = samples[static_cast<size_t>(rank - 1)];
    const int64_t got = h.ValueAtPercentile(p);
    EXPECT_LE(std::abs(static_cast<double>(got - exact)), 0.001 * static_cast<double>(exact))
        << "p" << p << " exact " << exact << " got " << got;
  }
  EXPECT_EQ(h.min(), h.LowestEquivalentValue(samples.front()));
  EXPECT_EQ(h.max(), h.HighestEquivalentValue(samples.back()));
}

TEST_P(PercentileAccuracyTest, MeanAndStddevCloseToExact) {
  constexpr int kN = 100'000;
  const std::vector<int64_t> samples = Samples(GetParam().distribution, GetParam().seed, kN);
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  double sum = 0;
  for (int64_t v : samples) {
    h.Record(v);
    sum += static_cast<double>(v);
  }
  const double mean = sum / kN;
  double squares = 0;
  for (int64_t v : samples)
    squares += (static_cast<double>(v) - mean) * (static_cast<double>(v) - mean);
  const double stddev = std::sqrt(squares / kN);
  EXPECT_NEAR(h.mean(), mean, 0.001 * mean);
  EXPECT_NEAR(h.stddev(), stddev, 0.001 * stddev);
}

INSTANTIATE_TEST_SUITE_P(Distributions, PercentileAccuracyTest,
                         ::testing::Values(PercentileCase{Distribution::kUniform, 1},
                                           PercentileCase{Distribution::kUniform, 42},
                                           PercentileCase{Distribution::kExponential, 7},
                                           PercentileCase{Distribution::kExponential, 2024},
                                           PercentileCase{Distribution::kLogNormal, 3},
                                           PercentileCase{Distribution::kLogNormal, 99}));

TEST(LatencyHistogramTest, ValuesBelowLowestShareTheFirstBucket) {
  LatencyHistogram h = MustCreate(1000, 3'600'000'000, 3);
  EXPECT_TRUE(h.Record(0));
  EXPECT_TRUE(h.Record(5));
  EXPECT_TRUE(h.Record(511));
  EXPECT_EQ(h.count_at_index(0), 3);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.ValueAtPercentile(50), 511);
}

TEST(LatencyHistogramTest, OutOfRangeValuesAreRejectedAndCounted) {
  LatencyHistogram h = MustCreate(1, 1000, 3);
  EXPECT_TRUE(h.Record(1000));
  EXPECT_FALSE(h.Record(1001));
  EXPECT_FALSE(h.Record(-1, 3));
  EXPECT_FALSE(h.Record(5, -1));  // negative count: ignored, not an overflow
  EXPECT_EQ(h.total_count(), 1);
  EXPECT_EQ(h.overflow_count(), 4);
  EXPECT_EQ(h.max(), 1000);
}

TEST(LatencyHistogramTest, RecordWithCountAddsThatManySamples) {
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  EXPECT_TRUE(h.Record(100, 7));
  EXPECT_TRUE(h.Record(200, 0));
  EXPECT_EQ(h.total_count(), 7);
  EXPECT_EQ(h.CountAtValue(100), 7);
  EXPECT_EQ(h.max(), 100);
}

TEST(LatencyHistogramTest, RecordCorrectedFillsInExpectedIntervals) {
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  EXPECT_TRUE(h.RecordCorrected(1000, 100));
  EXPECT_EQ(h.total_count(), 10);
  for (int64_t v = 100; v <= 1000; v += 100) EXPECT_EQ(h.CountAtValue(v), 1) << v;

  LatencyHistogram fast = LatencyHistogram::ForLatencyMicros();
  EXPECT_TRUE(fast.RecordCorrected(50, 100));  // no stall: nothing to fill in
  EXPECT_TRUE(fast.RecordCorrected(150, 0));   // correction disabled
  EXPECT_EQ(fast.total_count(), 2);

  LatencyHistogram small = MustCreate(1, 1000, 3);
  EXPECT_FALSE(small.RecordCorrected(5000, 100));
  EXPECT_EQ(small.total_count(), 0);
  EXPECT_EQ(small.overflow_count(), 1);
}

TEST(LatencyHistogramTest, MergedPerThreadHistogramsEqualOneHistogramOfAllValues) {
  constexpr int kThreads = 4;
  std::vector<std::vector<int64_t>> per_thread;
  for (int t = 0; t < kThreads; ++t) {
    per_thread.push_back(Samples(Distribution::kLogNormal, static_cast<uint32_t>(t + 10), 20'000));
  }
  std::vector<LatencyHistogram> histograms(kThreads, LatencyHistogram::ForLatencyMicros());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t v : per_thread[static_cast<size_t>(t)])
        histograms[static_cast<size_t>(t)].Record(v);
      histograms[static_cast<size_t>(t)].Record(-1);  // one overflow per thread
    });
  }
  for (std::thread& th : threads) th.join();

  LatencyHistogram merged = LatencyHistogram::ForLatencyMicros();
  LatencyHistogram all = LatencyHistogram::ForLatencyMicros();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(merged.Add(histograms[static_cast<size_t>(t)]).ok());
    for (int64_t v : per_thread[static_cast<size_t>(t)]) all.Record(v);
  }
  EXPECT_EQ(merged.total_count(), all.total_count());
  EXPECT_EQ(merged.overflow_count(), kThreads);
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  for (int i = 0; i < all.counts_len(); ++i)
    ASSERT_EQ(merged.count_at_index(i), all.count_at_index(i)) << i;
}

TEST(LatencyHistogramTest, AddAcrossLayoutsKeepsCountsAndPercentiles) {
  LatencyHistogram coarse = MustCreate(1, 100'000'000, 2);
  LatencyHistogram exact_layout = MustCreate(1, 100'000'000, 2);
  for (int64_t v : Samples(Distribution::kExponential, 5, 10'000)) {
    coarse.Record(v);
    exact_layout.Record(v);
  }
  LatencyHistogram fine = LatencyHistogram::ForLatencyMicros();
  ASSERT_TRUE(fine.Add(coarse).ok());
  EXPECT_EQ(fine.total_count(), coarse.total_count());
  // Each coarse bucket lands at its lowest value, which the finer layout
  // keeps (nearly) exactly, so percentiles agree within the coarse error.
  for (double p : {1.0, 50.0, 99.0, 100.0}) {
    EXPECT_NEAR(static_cast<double>(fine.ValueAtPercentile(p)),
                static_cast<double>(exact_layout.ValueAtPercentile(p)),
                0.01 * static_cast<double>(exact_layout.ValueAtPercentile(p)))
        << p;
  }
}

TEST(LatencyHistogramTest, AddRejectsValuesOutOfRangeAndLeavesHistogramUnchanged) {
  LatencyHistogram big = LatencyHistogram::ForLatencyMicros();
  big.Record(10);
  big.Record(5'000'000);
  LatencyHistogram small = MustCreate(1, 1'000'000, 3);
  small.Record(7);
  Status s = small.Add(big);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(small.total_count(), 1);
  EXPECT_EQ(small.CountAtValue(10), 0);
}

TEST(LatencyHistogramTest, EmptyHistogramQueriesReturnZero) {
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  EXPECT_EQ(h.total_count(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.stddev(), 0.0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
}

TEST(LatencyHistogramTest, MinAndMaxReportEquivalentRangeBounds) {
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  h.Record(10007);
  h.Record(20000);
  EXPECT_EQ(h.min(), 10000);
  EXPECT_EQ(h.max(), 20015);
  EXPECT_EQ(h.ValueAtPercentile(0), 10000);
  EXPECT_EQ(h.ValueAtPercentile(50), 10007);
}

TEST(LatencyHistogramTest, TracksFullInt64Range) {
  LatencyHistogram h = MustCreate(1, std::numeric_limits<int64_t>::max(), 1);
  EXPECT_TRUE(h.Record(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(h.max(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(h.ValueAtPercentile(100), std::numeric_limits<int64_t>::max());
}

TEST(LatencyHistogramTest, ResetClearsCountsAndKeepsLayout) {
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  h.Record(123);
  h.Record(-1);
  h.Reset();
  EXPECT_EQ(h.total_count(), 0);
  EXPECT_EQ(h.overflow_count(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.CountAtValue(123), 0);
  EXPECT_EQ(h.counts_len(), 23552);
  h.Record(5);
  EXPECT_EQ(h.min(), 5);
}

TEST(LatencyHistogramTest, MemoryIsFixedAfterManyRecords) {
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  const int before = h.counts_len();
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int64_t> any(-10, 4'000'000'000);
  for (int i = 0; i < 1'000'000; ++i) h.Record(any(rng));
  EXPECT_EQ(h.counts_len(), before);
  EXPECT_EQ(h.total_count() + h.overflow_count(), 1'000'000);
}

TEST(LatencyHistogramTest, PercentileDistributionHasHeaderRowsAndFooter) {
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  for (int64_t v = 1; v <= 10'000; ++v) h.Record(v);
  const std::vector<std::string> lines = Lines(h.PercentileDistribution(1000.0));
  ASSERT_GT(lines.size(), 6u);
  EXPECT_EQ(lines[0], "       Value     Percentile TotalCount 1/(1-Percentile)");
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[2], "       0.001 0.000000000000          1           1.00");
  const size_t n = lines.size();
  EXPECT_EQ(lines[n - 4], "      10.007 1.000000000000      10000");
  EXPECT_EQ(lines[n - 3], "#[Mean    =        5.001, StdDeviation   =        2.887]");
  EXPECT_EQ(lines[n - 2], "#[Max     =       10.007, Total count    =        10000]");
  EXPECT_EQ(lines[n - 1], "#[Buckets =           22, SubBuckets     =         2048]");
}

TEST(LatencyHistogramTest, PercentileDistributionMatchesHdrHistogramJavaOutput) {
  // Golden text from HdrHistogram Java 2.2's outputPercentileDistribution(out,
  // 5, 10000.0) for the same values. 1125 / 1e4 and 20015 / 1e4 are decimal
  // ties that Java's Formatter rounds half-up ("0.113", "2.002").
  LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
  for (int64_t v :
       std::vector<int64_t>{1, 2, 3, 1125, 1500, 2125, 10007, 20000, 1'000'000, 3'599'999'999}) {
    h.Record(v);
  }
  const std::string expected = R"(       Value     Percentile TotalCount 1/(1-Percentile)

       0.000 0.000000000000          1           1.00
       0.000 0.100000000000          1           1.11
       0.000 0.200000000000          2           1.25
       0.000 0.300000000000          3           1.43
       0.113 0.400000000000          4           1.67
       0.150 0.500000000000          5           2.00
       0.213 0.550000000000          6           2.22
       0.213 0.600000000000          6           2.50
       1.001 0.650000000000          7           2.86
       1.001 0.700000000000          7           3.33
       2.002 0.750000000000          8           4.00
       2.002 0.775000000000          8           4.44
       2.002 0.800000000000          8           5.00
     100.045 0.825000000000          9           5.71
     100.045 0.850000000000          9           6.67
     100.045 0.875000000000          9           8.00
     100.045 0.887500000000          9           8.89
     100.045 0.900000000000          9          10.00
  360080.998 0.912500000000         10          11.43
  360080.998 1.000000000000         10
#[Mean    =    36007.964, StdDeviation   =   107989.396]
#[Max     =   360080.998, Total count    =           10]
#[Buckets =           22, SubBuckets     =         2048]
)";
  EXPECT_EQ(h.PercentileDistribution(10000.0), expected);
}

}  // namespace
}  // namespace keel::obs
