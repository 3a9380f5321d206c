#include "keel/chaos/pacing.h"

#include <algorithm>

namespace keel::chaos {

Duration LatencyDelay(std::int64_t latency_ms, std::int64_t jitter_ms, Rng& rng) {
  std::int64_t ms = latency_ms;
  // Go's rand.Int63n(2j) - j: uniform in [-j, j).
  if (jitter_ms > 0) ms += rng.Uniform(-jitter_ms, jitter_ms - 1);
  return std::chrono::milliseconds(std::max<std::int64_t>(ms, 0));
}

Duration TransmitTime(std::uint64_t bytes, std::int64_t rate_kb_per_s) {
  // bytes / (rate * 1000 B/s), in ns without overflow for any sane size.
  const auto rate = static_cast<std::uint64_t>(rate_kb_per_s);
  return std::chrono::nanoseconds(bytes * 1'000'000 / rate);
}

std::vector<std::size_t> BandwidthPieces(std::size_t bytes, std::int64_t rate_kb_per_s) {
  const std::size_t limit = static_cast<std::size_t>(rate_kb_per_s) * 100;  // 100 ms worth
  std::vector<std::size_t> pieces;
  while (bytes > limit) {
    pieces.push_back(limit);
    bytes -= limit;
  }
  if (bytes > 0) pieces.push_back(bytes);
  return pieces;
}

namespace {

void Slice(std::size_t start, std::size_t end, std::int64_t average, std::int64_t variation,
           Rng& rng, std::vector<std::size_t>* out) {
  const auto len = static_cast<std::int64_t>(end - start);
  if (len - average <= variation || len < 2) {
    if (len > 0) out->push_back(static_cast<std::size_t>(len));
    return;
  }
  std::int64_t mid = len / 2;
  if (variation > 0) mid += rng.Uniform(-variation, variation - 1);
  // Toxiproxy can move the midpoint outside the chunk; Keel keeps both halves non-empty.
  mid = std::clamp<std::int64_t>(mid, 1, len - 1);
  Slice(start, start + static_cast<std::size_t>(mid), average, variation, rng, out);
  Slice(start + static_cast<std::size_t>(mid), end, average, variation, rng, out);
}

}  // namespace

std::vector<std::size_t> SliceSizes(std::size_t size, std::int64_t average,
                                     std::int64_t variation, Rng& rng) {
  std::vector<std::size_t> out;
  Slice(0, size, std::max<std::int64_t>(average, 1), std::max<std::int64_t>(variation, 0), rng,
        &out);
  return out;
}

bool SampleToxicity(double toxicity, Rng& rng) {
  if (toxicity >= 1.0) return true;
  return rng.NextDouble() < toxicity;
}

}  // namespace keel::chaos
