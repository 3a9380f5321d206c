// Writes the fixture of the hdr-histogram-js compatibility test:
//
//   hlog_fixture <dir>   ->  <dir>/fixture.hlog   three intervals, keel::load::HlogWriter
//                            <dir>/fixture.json   what a reader must find in each
//
// Every interval holds 10'000 values, so each tested percentile's rank is a
// whole number and HdrHistogram's two rank roundings (Java/JS ceil, Keel's
// round-half-up) pick the same bucket.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keel/load/hlog.h"
#include "keel/obs/latency_histogram.h"

namespace {

using keel::obs::LatencyHistogram;

constexpr double kStartTimeS = 1700000000.0;
constexpr double kPercentiles[] = {50.0, 90.0, 99.0, 99.9, 99.99};

std::vector<LatencyHistogram> Intervals() {
  std::vector<LatencyHistogram> out(3, LatencyHistogram::ForLatencyMicros());
  for (int64_t v = 1; v <= 10'000; ++v) out[0].Record(v);  // 1 µs .. 10 ms
  for (int64_t v = 1; v <= 9'994; ++v) out[1].Record(v);   // plus outliers:
  out[1].Record(250'000, 5);                               // 250 ms
  out[1].Record(1'000'000);                                // 1 s
  out[2].Record(0, 100);                                   // bucket 0
  out[2].Record(500, 9'899);
  out[2].Record(3'000'000'000);  // 50 minutes: above 2^31, in a 2^21 µs wide bucket
  return out;
}

nlohmann::json Expected(const LatencyHistogram& h, double start_s, double length_s) {
  nlohmann::json percentiles = nlohmann::json::object();
  for (double p : kPercentiles) {
    char key[32];
    std::snprintf(key, sizeof(key), "%g", p);
    percentiles[key] = h.ValueAtPercentile(p);
  }
  // Every non-empty bucket as [lowest value of the bucket, count].
  nlohmann::json counts = nlohmann::json::array();
  for (int i = 0; i < h.counts_len(); ++i) {
    if (h.count_at_index(i) != 0) counts.push_back({h.value_at_index(i), h.count_at_index(i)});
  }
  return {{"start_s", start_s},
          {"length_s", length_s},
          {"total_count", h.total_count()},
          {"max", h.max()},
          {"mean", h.mean()},
          {"interval_max_ms", static_cast<double>(h.max()) / 1000.0},
          {"percentiles", percentiles},
          {"counts", counts}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "hlog_fixture: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  auto writer = keel::load::HlogWriter::Open((dir / "fixture.hlog").string(), kStartTimeS);
  if (!writer.ok()) {
    std::fprintf(stderr, "hlog_fixture: %s\n", writer.status().message().c_str());
    return 1;
  }
  nlohmann::json expected = {{"start_time_s", kStartTimeS}, {"intervals", nlohmann::json::array()}};
  const std::vector<LatencyHistogram> intervals = Intervals();
  for (size_t i = 0; i < intervals.size(); ++i) {
    const double start_s = static_cast<double>(i), length_s = 1.0;
    const keel::Status s = (*writer)->WriteInterval(start_s, length_s, intervals[i]);
    if (!s.ok()) {
      std::fprintf(stderr, "hlog_fixture: %s\n", s.message().c_str());
      return 1;
    }
    expected["intervals"].push_back(Expected(intervals[i], start_s, length_s));
  }
  std::ofstream sidecar(dir / "fixture.json");
  sidecar << expected.dump() << "\n";
  sidecar.close();
  if (!sidecar) {
    std::fprintf(stderr, "hlog_fixture: cannot write %s\n", (dir / "fixture.json").c_str());
    return 1;
  }
  return 0;
}
