// The arithmetic of the timed toxics, separate from timers and sockets so it
// is tested with a seeded Rng and no clock.
//
//   LatencyDelay(100, 10, rng)      -> 90..109 ms (Toxiproxy: latency + U[-j, j))
//   TransmitTime(5000, 100)         -> 50 ms      (5000 B at 100 KB/s)
//   BandwidthPieces(25000, 100)     -> {10000, 10000, 5000} (100 ms worth each)
//   SliceSizes(1000, 100, 20, rng)  -> sizes summing to 1000, each 80..120-ish
//
// Thread-safety: pure functions; the Rng is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "keel/base/rng.h"
#include "keel/base/units.h"

namespace keel::chaos {

// Delay of one chunk under a latency toxic; never negative.
Duration LatencyDelay(std::int64_t latency_ms, std::int64_t jitter_ms, Rng& rng);

// Time `bytes` take at `rate_kb_per_s` (1 KB = 1000 bytes). REQUIRES: rate > 0.
Duration TransmitTime(std::uint64_t bytes, std::int64_t rate_kb_per_s);

// Splits a chunk into pieces of at most 100 ms worth of bytes, so a large
// read is released gradually (Toxiproxy does the same). REQUIRES: rate > 0.
std::vector<std::size_t> BandwidthPieces(std::size_t bytes, std::int64_t rate_kb_per_s);

// Toxiproxy's slicer: halve the chunk (midpoint moved by U[-variation,
// variation)) until a piece is within average + variation. Pieces are never
// empty and always sum to `size`. REQUIRES: average >= 1, variation >= 0.
std::vector<std::size_t> SliceSizes(std::size_t size, std::int64_t average,
                                     std::int64_t variation, Rng& rng);

// True with probability `toxicity` (Toxiproxy draws once per connection and
// toxic, and again when the toxic is updated).
bool SampleToxicity(double toxicity, Rng& rng);

}  // namespace keel::chaos
