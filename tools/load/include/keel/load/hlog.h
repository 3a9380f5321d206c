// HdrHistogram log format v1.2 writer (interval histograms, as written by
// HdrHistogram's HistogramLogWriter and read by its HistogramLogReader,
// HistogramLogAnalyzer and hdr-histogram-js).
//
//   #[Histogram log format version 1.2]
//   #[StartTime: 1700000000.000 (seconds since epoch), ...]
//   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//   0.000,1.000,12.345,HISTFAAAA...
//
// Each histogram is the V2 encoding (ZigZag LEB128 counts, zero runs),
// zlib-compressed, base64. Values are microseconds; Interval_Max is printed
// in milliseconds (max value unit ratio 1000), as HdrHistogram does for µs data.
//
// The cookies are written as HdrHistogram Java writes them: the V2 base with
// 0x10 in the word-size nibble (0x1c849313 uncompressed, 0x1c849314
// compressed, hence the "HISTF" prefix); readers compare cookie & ~0xf0.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/obs/latency_histogram.h"

namespace keel::load {

// The V2 uncompressed encoding (cookie 0x1c849303 | 0x10), big-endian, as
// AbstractHistogram.encodeIntoByteBuffer: counts up to the max value's bucket.
std::vector<unsigned char> EncodeV2(const obs::LatencyHistogram& h);
// Compressed (cookie 0x1c849304 | 0x10, zlib stream) and base64-encoded, as
// encodeIntoCompressedByteBuffer with the default compression level.
std::string EncodeCompressedBase64(const obs::LatencyHistogram& h);
// Decodes what EncodeCompressedBase64 wrote (for tests and `keel` tools), or
// any HdrHistogram V2 compressed histogram with normalizingIndexOffset 0.
// Errors: InvalidArgument for bad base64, cookie, zlib data or layout.
StatusOr<obs::LatencyHistogram> DecodeCompressedBase64(const std::string& text);

// Thread-safety: not thread-safe; one writer per file, used from one thread.
class HlogWriter {
 public:
  // Creates (truncates) `path` and writes the header. start_time_s: seconds
  // since the Unix epoch. Errors: Unavailable when the file cannot be
  // created or written.
  static StatusOr<std::unique_ptr<HlogWriter>> Open(const std::string& path, double start_time_s);
  ~HlogWriter();  // closes the file
  HlogWriter(const HlogWriter&) = delete;
  HlogWriter& operator=(const HlogWriter&) = delete;
  // offset_s: interval start relative to start_time_s. Flushes the line, so
  // an interrupted run leaves a readable log. Errors: Unavailable.
  Status WriteInterval(double offset_s, double length_s, const obs::LatencyHistogram& h);

 private:
  explicit HlogWriter(std::FILE* f) : f_(f) {}
  std::FILE* f_;
};

}  // namespace keel::load
