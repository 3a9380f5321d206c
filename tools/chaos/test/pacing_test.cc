#include "keel/chaos/pacing.h"

#include <gtest/gtest.h>

#include <numeric>

namespace keel::chaos {
namespace {

using std::chrono::milliseconds;

TEST(ChaosPacingTest, LatencyWithoutJitterIsExact) {
  Rng rng(1);
  EXPECT_EQ(LatencyDelay(100, 0, rng), milliseconds(100));
  EXPECT_EQ(LatencyDelay(0, 0, rng), milliseconds(0));
}

TEST(ChaosPacingTest, JitterStaysInHalfOpenRangeAndNeverNegative) {
  Rng rng(7);
  bool saw_low = false, saw_high = false;
  for (int i = 0; i < 10000; ++i) {
    auto d = LatencyDelay(100, 10, rng);
    EXPECT_GE(d, milliseconds(90));
    EXPECT_LT(d, milliseconds(110));
    saw_low |= d == milliseconds(90);
    saw_high |= d == milliseconds(109);
    EXPECT_GE(LatencyDelay(1, 10, rng), milliseconds(0));
  }
  EXPECT_TRUE(saw_low && saw_high);
}

TEST(ChaosPacingTest, TransmitTimeIsBytesOverRateInKilobytes) {
  EXPECT_EQ(TransmitTime(5000, 100), milliseconds(50));
  EXPECT_EQ(TransmitTime(1000, 1), milliseconds(1000));
  EXPECT_EQ(TransmitTime(1, 1000), std::chrono::microseconds(1));
}

TEST(ChaosPacingTest, BandwidthPiecesAreAtMostHundredMillisecondsWorth) {
  EXPECT_EQ(BandwidthPieces(25000, 100), (std::vector<std::size_t>{10000, 10000, 5000}));
  EXPECT_EQ(BandwidthPieces(10000, 100), (std::vector<std::size_t>{10000}));
  EXPECT_EQ(BandwidthPieces(10, 1000), (std::vector<std::size_t>{10}));
  EXPECT_TRUE(BandwidthPieces(0, 1).empty());
}

TEST(ChaosPacingTest, SlicesSumToChunkAndStayNearAverage) {
  Rng rng(42);
  for (std::size_t size : {1u, 7u, 100u, 1000u, 65536u}) {
    auto pieces = SliceSizes(size, 100, 20, rng);
    EXPECT_EQ(std::accumulate(pieces.begin(), pieces.end(), std::size_t{0}), size);
    for (std::size_t p : pieces) {
      EXPECT_GT(p, 0u);
      EXPECT_LE(p, 120u);
    }
  }
}

TEST(ChaosPacingTest, SlicesWithoutVariationAreDeterministicHalves) {
  Rng rng(3);
  EXPECT_EQ(SliceSizes(400, 100, 0, rng), (std::vector<std::size_t>{100, 100, 100, 100}));
  EXPECT_EQ(SliceSizes(50, 100, 0, rng), (std::vector<std::size_t>{50}));
}

TEST(ChaosPacingTest, HugeVariationNeverProducesEmptyPieces) {
  Rng rng(9);
  auto pieces = SliceSizes(10, 1, 1000, rng);
  EXPECT_EQ(std::accumulate(pieces.begin(), pieces.end(), std::size_t{0}), 10u);
  for (std::size_t p : pieces) EXPECT_GT(p, 0u);
}

TEST(ChaosPacingTest, ToxicitySamplingMatchesProbabilityWithSeededRng) {
  Rng rng(1234);
  int hits = 0;
  for (int i = 0; i < 100000; ++i) hits += SampleToxicity(0.3, rng) ? 1 : 0;
  EXPECT_NEAR(hits / 100000.0, 0.3, 0.01);
  EXPECT_TRUE(SampleToxicity(1.0, rng));
  EXPECT_FALSE(SampleToxicity(0.0, rng));
  Rng a(5), b(5);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(SampleToxicity(0.5, a), SampleToxicity(0.5, b));
}

}  // namespace
}  // namespace keel::chaos
