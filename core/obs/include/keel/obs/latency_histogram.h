// LatencyHistogram: an HdrHistogram-compatible histogram of non-negative
// int64 values (typically latencies in microseconds) with bounded relative
// error and fixed memory.
//
// The bucket layout, index arithmetic and query semantics are exactly those of
// HdrHistogram (Java, HdrHistogram_c): counts_len(), count_at_index() and
// value_at_index() describe the same counts array HdrHistogram would hold, so
// an encoder can write it in HdrHistogram's log format and any HdrHistogram
// implementation reads back the same distribution (see
// docs/adr/0002-latency-histogram.md).
//
// Values that fall in the same bucket are "equivalent"; a bucket around v is
// SizeOfEquivalentValueRange(v) wide, which keeps the error of a reported
// value below the larger of v * 10^-significant_figures (0.1% for 3 figures)
// and lowest_discernible_value().
//
//   LatencyHistogram h = LatencyHistogram::ForLatencyMicros();
//   h.Record(elapsed_us);
//   int64_t p99 = h.ValueAtPercentile(99.0);
//
//   StatusOr<LatencyHistogram> custom = LatencyHistogram::Create(1, 60'000'000, 2);
//   if (!custom.ok()) return custom.status();
//
// Memory: the counts array (counts_len() int64s; 184 KiB for
// ForLatencyMicros()) is allocated once by Create() and never grows. Record()
// does not allocate.
//
// Thread-safety: not thread-safe. Keep one histogram per thread or worker and
// merge them with Add() on one thread when reporting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keel/base/status.h"

namespace keel::obs {

class LatencyHistogram {
 public:
  // Tracks values in [0, highest] with `sigfigs` significant decimal figures
  // of precision. Values below `lowest` share the first buckets, exactly as in
  // HdrHistogram (`lowest` is its lowestDiscernibleValue).
  // Errors: InvalidArgument unless 1 <= lowest, 2 * lowest <= highest and
  // 1 <= sigfigs <= 5, or if the layout would not fit in 64-bit values.
  static StatusOr<LatencyHistogram> Create(int64_t lowest, int64_t highest, int sigfigs);

  // 1 µs .. 1 hour (3'600'000'000 µs) with 3 significant figures.
  static LatencyHistogram ForLatencyMicros();

  // Copyable (deep copy of the counts) and movable.
  LatencyHistogram(const LatencyHistogram&) = default;
  LatencyHistogram& operator=(const LatencyHistogram&) = default;
  LatencyHistogram(LatencyHistogram&&) noexcept = default;
  LatencyHistogram& operator=(LatencyHistogram&&) noexcept = default;

  // Records `count` occurrences of `value`. Returns false, leaving the
  // histogram unchanged except for overflow_count(), when value < 0 or
  // value > highest_trackable_value(). Returns false and ignores the call when
  // count < 0.
  bool Record(int64_t value, int64_t count = 1);

  // Records `value` and corrects for coordinated omission like HdrHistogram's
  // recordValueWithExpectedInterval: if samples were expected every
  // `expected_interval` but `value` stalled the sender, also records
  // value - k * expected_interval for every k >= 1 that keeps it
  // >= expected_interval. No correction when expected_interval <= 0.
  // Returns false (and records nothing) when `value` is out of range.
  bool RecordCorrected(int64_t value, int64_t expected_interval);

  // Adds all counts of `other` (and its overflow_count()) into this
  // histogram. Same layout: counts are added index by index. Otherwise each
  // non-empty bucket of `other` is recorded at its lowest equivalent value, as
  // HdrHistogram does. Errors: InvalidArgument, leaving this histogram
  // unchanged, if `other` holds a value this one cannot track.
  Status Add(const LatencyHistogram& other);

  // Clears all counts, min/max and overflow_count(); keeps the layout.
  void Reset();

  // Queries. On an empty histogram min(), max(), mean(), stddev() and
  // ValueAtPercentile() return 0.
  int64_t total_count() const { return total_count_; }
  int64_t overflow_count() const { return overflow_count_; }
  // Lowest equivalent value of the smallest recorded value (0 if a value
  // equivalent to 0 was recorded).
  int64_t min() const;
  // Highest equivalent value of the largest recorded value.
  int64_t max() const;
  // Mean and population standard deviation, computed from the median
  // equivalent value of each bucket (as HdrHistogram does).
  double mean() const;
  double stddev() const;
  // The value at or below which `percentile` % of recorded values fall:
  // the highest equivalent value of the bucket holding the sample of rank
  // max(1, (int64)(percentile / 100 * total_count() + 0.5)); the lowest
  // equivalent value for percentile == 0. `percentile` is clamped to [0, 100].
  int64_t ValueAtPercentile(double percentile) const;
  // Number of recorded values equivalent to `value` (0 if out of range).
  int64_t CountAtValue(int64_t value) const;

  // HdrHistogram's textual percentile distribution
  // (AbstractHistogram.outputPercentileDistribution, classic format): a
  // header, one row per percentile tick (ticks_per_half_distance ticks in
  // each half of the remaining distance to 100%), a final 100% row and the
  // Mean/StdDeviation, Max/Total count, Buckets/SubBuckets footer. Values are
  // divided by `output_value_unit_scaling` (e.g. 1000.0 for µs -> ms) and
  // printed with significant_figures() decimals.
  // REQUIRES: output_value_unit_scaling > 0, ticks_per_half_distance >= 1.
  std::string PercentileDistribution(double output_value_unit_scaling,
                                     int ticks_per_half_distance = 5) const;

  // Layout, for encoders and tests.
  int64_t lowest_discernible_value() const { return layout_.lowest_discernible_value; }
  int64_t highest_trackable_value() const { return layout_.highest_trackable_value; }
  int significant_figures() const { return layout_.significant_figures; }
  int bucket_count() const { return layout_.bucket_count; }
  int sub_bucket_count() const { return layout_.sub_bucket_count; }
  int counts_len() const { return layout_.counts_len; }
  // REQUIRES: 0 <= index < counts_len().
  int64_t count_at_index(int index) const { return counts_[static_cast<size_t>(index)]; }
  // Lowest value that maps to `index`. REQUIRES: 0 <= index < counts_len().
  int64_t value_at_index(int index) const;

  // Equivalence helpers. REQUIRES: 0 <= value.
  bool ValuesAreEquivalent(int64_t a, int64_t b) const;
  int64_t LowestEquivalentValue(int64_t value) const;
  int64_t HighestEquivalentValue(int64_t value) const;
  int64_t MedianEquivalentValue(int64_t value) const;
  int64_t SizeOfEquivalentValueRange(int64_t value) const;

 private:
  // HdrHistogram's derived parameters; names follow HdrHistogram_c.
  struct Layout {
    int64_t lowest_discernible_value;
    int64_t highest_trackable_value;
    int significant_figures;
    int unit_magnitude;
    int sub_bucket_half_count_magnitude;
    int sub_bucket_count;
    int sub_bucket_half_count;
    int64_t sub_bucket_mask;
    int bucket_count;
    int counts_len;
  };

  explicit LatencyHistogram(const Layout& layout);

  bool SameLayout(const LatencyHistogram& other) const;
  int BucketIndex(int64_t value) const;
  int SubBucketIndex(int64_t value, int bucket_index) const;
  int CountsIndexFor(int64_t value) const;

  Layout layout_;
  std::vector<int64_t> counts_;  // layout_.counts_len entries, sized once
  int64_t total_count_ = 0;
  int64_t overflow_count_ = 0;
  int64_t min_non_zero_value_;  // smallest recorded value > 0, or INT64_MAX
  int64_t max_value_ = 0;       // largest recorded value
};

}  // namespace keel::obs
