#include "keel/load/hlog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace keel::load {
namespace {

using Bytes = std::vector<unsigned char>;

obs::LatencyHistogram MustCreate(int64_t lowest, int64_t highest, int sigfigs) {
  StatusOr<obs::LatencyHistogram> h = obs::LatencyHistogram::Create(lowest, highest, sigfigs);
  EXPECT_TRUE(h.ok()) << h.status().message();
  return std::move(h).value();
}

// The 40-byte V2 header of a ForLatencyMicros() histogram with the given
// payload length, derived from the format description by hand.
Bytes MicrosHeader(unsigned char payload_len) {
  // clang-format off
  return {
      0x1c, 0x84, 0x93, 0x13,                          // cookie 0x1c849303 | 0x10
      0x00, 0x00, 0x00, payload_len,                   // payloadLengthInBytes
      0x00, 0x00, 0x00, 0x00,                          // normalizingIndexOffset
      0x00, 0x00, 0x00, 0x03,                          // significant figures
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // lowest discernible value 1
      0x00, 0x00, 0x00, 0x00, 0xd6, 0x93, 0xa4, 0x00,  // highest trackable 3'600'000'000
      0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 1.0 as an IEEE double
  };
  // clang-format on
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void ExpectSameCounts(const obs::LatencyHistogram& want, const obs::LatencyHistogram& got) {
  ASSERT_EQ(want.counts_len(), got.counts_len());
  EXPECT_EQ(want.lowest_discernible_value(), got.lowest_discernible_value());
  EXPECT_EQ(want.highest_trackable_value(), got.highest_trackable_value());
  EXPECT_EQ(want.significant_figures(), got.significant_figures());
  for (int i = 0; i < want.counts_len(); ++i) {
    ASSERT_EQ(want.count_at_index(i), got.count_at_index(i)) << "index " << i;
  }
  EXPECT_EQ(want.total_count(), got.total_count());
  EXPECT_EQ(want.max(), got.max());
  EXPECT_EQ(want.min(), got.min());
}

TEST(HlogEncodingTest, EncodesCountsAsZigZagVarintsWithZeroRuns) {
  obs::LatencyHistogram h = obs::LatencyHistogram::ForLatencyMicros();
  // Below 2048 µs each value has its own bucket: index == value.
  h.Record(1);
  h.Record(2, 2);
  h.Record(5, 300);
  h.Record(1000);
  const Bytes payload = {
      0x00,        // index 0: a lone zero is written as 0, not as a run
      0x02,        // index 1: count 1 -> zigzag 2
      0x04,        // index 2: count 2 -> zigzag 4
      0x03,        // indexes 3-4: run of 2 zeros -> -2 -> zigzag 3
      0xd8, 0x04,  // index 5: count 300 -> zigzag 600 = 0b100'1011000
      0xc3, 0x0f,  // indexes 6-999: 994 zeros -> -994 -> zigzag 1987 = 0b1111'1000011
      0x02,        // index 1000: count 1; nothing after the last non-zero count
  };
  EXPECT_EQ(EncodeV2(h), Concat(MicrosHeader(9), payload));
}

TEST(HlogEncodingTest, EncodesEmptyHistogramAsOneZeroCount) {
  EXPECT_EQ(EncodeV2(obs::LatencyHistogram::ForLatencyMicros()), Concat(MicrosHeader(1), {0x00}));
}

TEST(HlogEncodingTest, EncodesHugeCountInNineBytes) {
  obs::LatencyHistogram h = obs::LatencyHistogram::ForLatencyMicros();
  h.Record(0, int64_t{1} << 62);
  // zigzag(2^62) = 2^63: eight 7-bit groups of zeros with continuation bits,
  // then the ninth byte holds the top 8 bits whole (no 10th byte).
  const Bytes payload = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
  EXPECT_EQ(EncodeV2(h), Concat(MicrosHeader(9), payload));
  StatusOr<obs::LatencyHistogram> decoded = DecodeCompressedBase64(EncodeCompressedBase64(h));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->count_at_index(0), int64_t{1} << 62);
}

TEST(HlogEncodingTest, CompressedFormHasCookieLengthAndZlibStream) {
  obs::LatencyHistogram h = obs::LatencyHistogram::ForLatencyMicros();
  h.Record(12345, 7);
  const std::string text = EncodeCompressedBase64(h);
  // 0x1c849314 in base64 begins "HISTF", as every HdrHistogram log line does.
  EXPECT_EQ(text.rfind("HISTF", 0), 0u) << text;
  EXPECT_EQ(text.size() % 4, 0u);
  EXPECT_EQ(
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
      std::string::npos);
}

TEST(HlogEncodingTest, CompressedRoundTripPreservesRandomHistograms) {
  struct Layout {
    int64_t lowest, highest;
    int sigfigs;
  };
  const Layout layouts[] = {{1, 3'600'000'000, 3},
                            {1, 1'000'000, 2},
                            {1000, 1'000'000'000, 3},
                            {1, 100, 1},
                            {5, 1'000'000, 5}};
  std::mt19937_64 rng(20240611);
  for (const Layout& l : layouts) {
    for (int round = 0; round < 5; ++round) {
      obs::LatencyHistogram h = MustCreate(l.lowest, l.highest, l.sigfigs);
      std::lognormal_distribution<double> value(std::log(static_cast<double>(l.highest)) / 2, 1.5);
      std::uniform_int_distribution<int64_t> count(1, 1000);
      const int samples = 1 + static_cast<int>(rng() % 5000);
      for (int i = 0; i < samples; ++i) {
        h.Record(std::min(static_cast<int64_t>(value(rng)), l.highest), count(rng));
      }
      SCOPED_TRACE("layout highest=" + std::to_string(l.highest) + " round " +
                   std::to_string(round));
      StatusOr<obs::LatencyHistogram> decoded = DecodeCompressedBase64(EncodeCompressedBase64(h));
      ASSERT_TRUE(decoded.ok()) << decoded.status().message();
      ExpectSameCounts(h, *decoded);
    }
  }
}

TEST(HlogEncodingTest, DecodeRejectsMalformedInput) {
  obs::LatencyHistogram h = obs::LatencyHistogram::ForLatencyMicros();
  h.Record(42);
  const std::string good = EncodeCompressedBase64(h);
  const std::string cases[] = {
      "",                               // no header
      "HISTFAA",                        // not a multiple of 4
      "HIST*AAA",                       // not base64
      "AAAAAAAAAAAA",                   // wrong cookie
      good.substr(0, good.size() - 8),  // truncated
      "HISTFAAAAP8AAAAA",               // compressed length beyond the data
      "HISTFAAAAAQAAAAA",               // four bytes that are not a zlib stream
  };
  for (const std::string& text : cases) {
    EXPECT_FALSE(DecodeCompressedBase64(text).ok()) << "'" << text << "'";
  }
}

TEST(HlogWriterTest, WritesHeaderAndIntervalLines) {
  const std::string path = testing::TempDir() + "/hlog_writer_test.hlog";
  obs::LatencyHistogram first = obs::LatencyHistogram::ForLatencyMicros();
  first.Record(12345);
  first.Record(100, 10);
  obs::LatencyHistogram second = obs::LatencyHistogram::ForLatencyMicros();
  second.Record(2'000'000);
  {
    StatusOr<std::unique_ptr<HlogWriter>> writer = HlogWriter::Open(path, 1700000000.5);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    ASSERT_TRUE((*writer)->WriteInterval(0.0, 1.0, first).ok());
    ASSERT_TRUE((*writer)->WriteInterval(1.0, 1.0, second).ok());
  }
  const std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "#[Histogram log format version 1.2]");
  EXPECT_EQ(lines[1],
            "#[StartTime: 1700000000.500 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]");
  EXPECT_EQ(lines[2],
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
            "\"Interval_Compressed_Histogram\"");
  // Interval_Max is the highest equivalent value of the max, in ms:
  // 12345 µs lies in [12344, 12351], 2'000'000 µs in [1'999'872, 2'000'895].
  EXPECT_EQ(lines[3], "0.000,1.000,12.351," + EncodeCompressedBase64(first));
  EXPECT_EQ(lines[4], "1.000,1.000,2000.895," + EncodeCompressedBase64(second));

  StatusOr<obs::LatencyHistogram> decoded =
      DecodeCompressedBase64(lines[3].substr(lines[3].rfind(',') + 1));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ExpectSameCounts(first, *decoded);
}

TEST(HlogWriterTest, OpenFailsForUnwritablePath) {
  StatusOr<std::unique_ptr<HlogWriter>> writer =
      HlogWriter::Open(testing::TempDir() + "/no/such/dir/x.hlog", 0);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace keel::load
