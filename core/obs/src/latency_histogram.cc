#include "keel/obs/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <system_error>
#include <utility>

namespace keel::obs {
namespace {

constexpr int64_t kNoValue = std::numeric_limits<int64_t>::max();

// HdrHistogram's bucketsNeededToCoverValue, including its overflow guard.
int BucketsNeededToCoverValue(int64_t value, int sub_bucket_count, int unit_magnitude) {
  int64_t smallest_untrackable_value = int64_t{sub_bucket_count} << unit_magnitude;
  int buckets_needed = 1;
  while (smallest_untrackable_value <= value) {
    if (smallest_untrackable_value > std::numeric_limits<int64_t>::max() / 2) {
      return buckets_needed + 1;
    }
    smallest_untrackable_value <<= 1;
    ++buckets_needed;
  }
  return buckets_needed;
}

// Java's Formatter rounds the shortest decimal representation half-up, where
// printf rounds the exact binary value half-even (0.125 -> "0.13" in Java,
// "0.12" in C). Emulating Java keeps PercentileDistribution() byte-identical
// to HdrHistogram's output. Plain char buffers: GCC 12 -O3 reports a false
// -Wrestrict on the std::string equivalent.
std::string JavaFixed(double v, int precision, int width) {
  char text[512];
  size_t len = 0;
  char shortest[400];  // enough for any finite double in shortest fixed form
  auto [end, ec] =
      std::to_chars(shortest, shortest + sizeof(shortest), std::fabs(v), std::chars_format::fixed);
  if (!std::isfinite(v) || ec != std::errc()) {
    len = static_cast<size_t>(std::snprintf(text, sizeof(text), "%s",
                                            std::isnan(v) ? "NaN"
                                            : v > 0       ? "Infinity"
                                                          : "-Infinity"));
  } else {
    const auto p = static_cast<size_t>(precision);
    const char* dot = std::find(shortest, end, '.');
    const char* frac = dot == end ? end : dot + 1;
    const auto frac_len = static_cast<size_t>(end - frac);
    // All digits with the decimal point implied before the last p of them.
    char digits[450];
    size_t n = 0;
    digits[n++] = '0';  // headroom for a carry out of the integer part
    for (const char* c = shortest; c != dot; ++c) digits[n++] = *c;
    for (size_t i = 0; i < p; ++i) digits[n++] = i < frac_len ? frac[i] : '0';
    if (frac_len > p && frac[p] >= '5') {
      size_t i = n;
      while (digits[i - 1] == '9') digits[--i] = '0';
      ++digits[i - 1];
    }
    const size_t int_end = n - p;
    const size_t first = digits[0] == '0' && int_end > 1 ? 1 : 0;
    if (std::signbit(v)) text[len++] = '-';
    for (size_t i = first; i < int_end; ++i) text[len++] = digits[i];
    if (p > 0) text[len++] = '.';
    for (size_t i = int_end; i < n; ++i) text[len++] = digits[i];
  }
  const size_t pad = static_cast<size_t>(width) > len ? static_cast<size_t>(width) - len : 0;
  std::string out(pad, ' ');
  out.append(text, len);
  return out;
}

// HdrHistogram's PercentileIterator step: each half of the remaining distance
// to 100% is cut into ticks_per_half_distance equal ticks. Computed in double
// (exact for these powers of two) so that levels at or near 100% cannot
// overflow an integer.
double NextPercentileLevel(double level, int ticks_per_half_distance) {
  if (level >= 100.0) return 100.0;
  const auto halvings = static_cast<int64_t>(std::log(100.0 / (100.0 - level)) / std::log(2.0));
  const double ticks = ticks_per_half_distance * std::pow(2.0, static_cast<double>(halvings + 1));
  return level + 100.0 / ticks;
}

}  // namespace

StatusOr<LatencyHistogram> LatencyHistogram::Create(int64_t lowest, int64_t highest, int sigfigs) {
  if (lowest < 1) return InvalidArgument("lowest discernible value must be >= 1");
  if (sigfigs < 1 || sigfigs > 5) return InvalidArgument("significant figures must be in [1, 5]");
  if (lowest > highest / 2) {
    return InvalidArgument("highest trackable value must be >= 2 * lowest discernible value");
  }
  Layout l;
  l.lowest_discernible_value = lowest;
  l.highest_trackable_value = highest;
  l.significant_figures = sigfigs;
  // The floating-point formulas are HdrHistogram's own; a reader of an
  // encoded histogram recomputes the layout with them, so we must agree.
  int64_t largest_value_with_single_unit_resolution = 2;
  for (int i = 0; i < sigfigs; ++i) largest_value_with_single_unit_resolution *= 10;
  const auto sub_bucket_count_magnitude = static_cast<int>(std::ceil(
      std::log(static_cast<double>(largest_value_with_single_unit_resolution)) / std::log(2.0)));
  l.sub_bucket_half_count_magnitude = std::max(sub_bucket_count_magnitude, 1) - 1;
  l.unit_magnitude = static_cast<int>(std::log(static_cast<double>(lowest)) / std::log(2.0));
  if (l.unit_magnitude + l.sub_bucket_half_count_magnitude > 61) {
    return InvalidArgument("lowest discernible value too large for the significant figures");
  }
  l.sub_bucket_count = 1 << (l.sub_bucket_half_count_magnitude + 1);
  l.sub_bucket_half_count = l.sub_bucket_count / 2;
  l.sub_bucket_mask = (int64_t{l.sub_bucket_count} - 1) << l.unit_magnitude;
  l.bucket_count = BucketsNeededToCoverValue(highest, l.sub_bucket_count, l.unit_magnitude);
  l.counts_len = (l.bucket_count + 1) * l.sub_bucket_half_count;
  return LatencyHistogram(l);
}

LatencyHistogram LatencyHistogram::ForLatencyMicros() {
  StatusOr<LatencyHistogram> h = Create(1, 3'600'000'000, 3);
  if (!h.ok()) std::abort();  // constant arguments: a failure is a bug here
  return std::move(h).value();
}

LatencyHistogram::LatencyHistogram(const Layout& layout)
    : layout_(layout),
      counts_(static_cast<size_t>(layout.counts_len), 0),
      min_non_zero_value_(kNoValue) {}

bool LatencyHistogram::SameLayout(const LatencyHistogram& other) const {
  return layout_.unit_magnitude == other.layout_.unit_magnitude &&
         layout_.sub_bucket_half_count_magnitude == other.layout_.sub_bucket_half_count_magnitude &&
         layout_.counts_len == other.layout_.counts_len;
}

int LatencyHistogram::BucketIndex(int64_t value) const {
  // Smallest power of two containing the value; the mask folds every value
  // below sub_bucket_count units into bucket 0.
  const int pow2_ceiling =
      64 - std::countl_zero(static_cast<uint64_t>(value | layout_.sub_bucket_mask));
  return pow2_ceiling - layout_.unit_magnitude - (layout_.sub_bucket_half_count_magnitude + 1);
}

int LatencyHistogram::SubBucketIndex(int64_t value, int bucket_index) const {
  return static_cast<int>(value >> (bucket_index + layout_.unit_magnitude));
}

int LatencyHistogram::CountsIndexFor(int64_t value) const {
  const int bucket_index = BucketIndex(value);
  const int sub_bucket_index = SubBucketIndex(value, bucket_index);
  // Buckets after the first share their lower half with the previous bucket,
  // so each one only stores its upper half: sub_bucket_half_count slots.
  const int bucket_base_index = (bucket_index + 1) << layout_.sub_bucket_half_count_magnitude;
  return bucket_base_index + (sub_bucket_index - layout_.sub_bucket_half_count);
}

int64_t LatencyHistogram::value_at_index(int index) const {
  int bucket_index = (index >> layout_.sub_bucket_half_count_magnitude) - 1;
  int sub_bucket_index =
      (index & (layout_.sub_bucket_half_count - 1)) + layout_.sub_bucket_half_count;
  if (bucket_index < 0) {
    sub_bucket_index -= layout_.sub_bucket_half_count;
    bucket_index = 0;
  }
  return int64_t{sub_bucket_index} << (bucket_index + layout_.unit_magnitude);
}

int64_t LatencyHistogram::SizeOfEquivalentValueRange(int64_t value) const {
  const int bucket_index = BucketIndex(value);
  const int sub_bucket_index = SubBucketIndex(value, bucket_index);
  const int adjusted_bucket =
      sub_bucket_index >= layout_.sub_bucket_count ? bucket_index + 1 : bucket_index;
  return int64_t{1} << (layout_.unit_magnitude + adjusted_bucket);
}

int64_t LatencyHistogram::LowestEquivalentValue(int64_t value) const {
  const int bucket_index = BucketIndex(value);
  const int sub_bucket_index = SubBucketIndex(value, bucket_index);
  return int64_t{sub_bucket_index} << (bucket_index + layout_.unit_magnitude);
}

int64_t LatencyHistogram::HighestEquivalentValue(int64_t value) const {
  // Parenthesised so the top bucket of an INT64_MAX histogram cannot overflow.
  return LowestEquivalentValue(value) + (SizeOfEquivalentValueRange(value) - 1);
}

int64_t LatencyHistogram::MedianEquivalentValue(int64_t value) const {
  return LowestEquivalentValue(value) + (SizeOfEquivalentValueRange(value) >> 1);
}

bool LatencyHistogram::ValuesAreEquivalent(int64_t a, int64_t b) const {
  return LowestEquivalentValue(a) == LowestEquivalentValue(b);
}

bool LatencyHistogram::Record(int64_t value, int64_t count) {
  if (count < 0) return false;
  if (value < 0 || value > layout_.highest_trackable_value) {
    overflow_count_ += count;
    return false;
  }
  if (count == 0) return true;
  counts_[static_cast<size_t>(CountsIndexFor(value))] += count;
  total_count_ += count;
  max_value_ = std::max(max_value_, value);
  if (value != 0) min_non_zero_value_ = std::min(min_non_zero_value_, value);
  return true;
}

bool LatencyHistogram::RecordCorrected(int64_t value, int64_t expected_interval) {
  if (!Record(value)) return false;
  if (expected_interval <= 0) return true;
  for (int64_t missing = value - expected_interval; missing >= expected_interval;
       missing -= expected_interval) {
    Record(missing);  // in range: 0 < missing < value
  }
  return true;
}

Status LatencyHistogram::Add(const LatencyHistogram& other) {
  int top = other.layout_.counts_len - 1;
  while (top >= 0 && other.count_at_index(top) == 0) --top;
  if (top >= 0 && other.value_at_index(top) > layout_.highest_trackable_value) {
    return InvalidArgument("other histogram holds values above highest trackable value " +
                           std::to_string(layout_.highest_trackable_value));
  }
  if (SameLayout(other)) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_count_ += other.total_count_;
    max_value_ = std::max(max_value_, other.max_value_);
    min_non_zero_value_ = std::min(min_non_zero_value_, other.min_non_zero_value_);
  } else {
    // Like HdrHistogram: each bucket of `other` lands at its lowest
    // equivalent value. The range check above means Record() cannot fail.
    for (int i = 0; i <= top; ++i) {
      if (other.count_at_index(i) != 0) Record(other.value_at_index(i), other.count_at_index(i));
    }
  }
  overflow_count_ += other.overflow_count_;
  return Status::Ok();
}

void LatencyHistogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_count_ = 0;
  overflow_count_ = 0;
  min_non_zero_value_ = kNoValue;
  max_value_ = 0;
}

int64_t LatencyHistogram::min() const {
  if (total_count_ == 0 || counts_[0] > 0) return 0;
  return LowestEquivalentValue(min_non_zero_value_);
}

int64_t LatencyHistogram::max() const {
  return max_value_ == 0 ? 0 : HighestEquivalentValue(max_value_);
}

double LatencyHistogram::mean() const {
  if (total_count_ == 0) return 0.0;
  double total = 0.0;
  for (int i = 0; i < layout_.counts_len; ++i) {
    const int64_t count = count_at_index(i);
    if (count != 0) {
      total += static_cast<double>(MedianEquivalentValue(value_at_index(i))) *
               static_cast<double>(count);
    }
  }
  return total / static_cast<double>(total_count_);
}

double LatencyHistogram::stddev() const {
  if (total_count_ == 0) return 0.0;
  const double m = mean();
  double deviation_total = 0.0;
  for (int i = 0; i < layout_.counts_len; ++i) {
    const int64_t count = count_at_index(i);
    if (count != 0) {
      const double dev = static_cast<double>(MedianEquivalentValue(value_at_index(i))) - m;
      deviation_total += dev * dev * static_cast<double>(count);
    }
  }
  return std::sqrt(deviation_total / static_cast<double>(total_count_));
}

int64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  if (total_count_ == 0) return 0;
  const double p = std::clamp(percentile, 0.0, 100.0);
  const int64_t count_at_percentile = std::max<int64_t>(
      1, static_cast<int64_t>(p / 100.0 * static_cast<double>(total_count_) + 0.5));
  int64_t cumulative = 0;
  for (int i = 0; i < layout_.counts_len; ++i) {
    cumulative += count_at_index(i);
    if (cumulative >= count_at_percentile) {
      const int64_t value = value_at_index(i);
      return p == 0.0 ? LowestEquivalentValue(value) : HighestEquivalentValue(value);
    }
  }
  return 0;  // unreachable while total_count_ matches the counts
}

int64_t LatencyHistogram::CountAtValue(int64_t value) const {
  if (value < 0 || value > layout_.highest_trackable_value) return 0;
  return counts_[static_cast<size_t>(CountsIndexFor(value))];
}

std::string LatencyHistogram::PercentileDistribution(double output_value_unit_scaling,
                                                     int ticks_per_half_distance) const {
  const int digits = layout_.significant_figures;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                "1/(1-Percentile)");
  out += line;

  // Mirrors HdrHistogram's PercentileIterator: stay on a bucket while it
  // satisfies successive percentile levels, then emit one final row at 100%.
  auto row = [&](int64_t value, double level, int64_t cumulative, bool last) {
    out += JavaFixed(static_cast<double>(value) / output_value_unit_scaling, digits, 12);
    out += ' ';
    out += JavaFixed(level / 100.0, 12, 2);
    std::snprintf(line, sizeof(line), " %10" PRId64, cumulative);
    out += line;
    if (!last) {
      out += ' ';
      out += JavaFixed(1.0 / (1.0 - level / 100.0), 2, 14);
    }
    out += '\n';
  };
  double level = 0.0;
  int64_t cumulative = 0;
  int last_index = -1;
  for (int i = 0; i < layout_.counts_len && cumulative < total_count_; ++i) {
    const int64_t count = count_at_index(i);
    if (count == 0) continue;
    cumulative += count;
    last_index = i;
    const double current =
        100.0 * static_cast<double>(cumulative) / static_cast<double>(total_count_);
    while (current >= level) {
      row(HighestEquivalentValue(value_at_index(i)), level, cumulative, false);
      level = NextPercentileLevel(level, ticks_per_half_distance);
      if (cumulative >= total_count_) break;
    }
  }
  if (last_index >= 0) {
    row(HighestEquivalentValue(value_at_index(last_index)), 100.0, cumulative, true);
  }

  out += "#[Mean    = " + JavaFixed(mean() / output_value_unit_scaling, digits, 12) +
         ", StdDeviation   = " + JavaFixed(stddev() / output_value_unit_scaling, digits, 12) +
         "]\n";
  std::snprintf(line, sizeof(line), ", Total count    = %12" PRId64 "]\n", total_count_);
  out += "#[Max     = " +
         JavaFixed(static_cast<double>(max()) / output_value_unit_scaling, digits, 12) + line;
  std::snprintf(line, sizeof(line), "#[Buckets = %12d, SubBuckets     = %12d]\n",
                layout_.bucket_count, layout_.sub_bucket_count);
  out += line;
  return out;
}

}  // namespace keel::obs
