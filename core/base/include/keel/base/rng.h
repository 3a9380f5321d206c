// A small, fast pseudo-random generator (xoshiro256**, seeded through
// splitmix64) for load patterns, sampling and ids that need uniqueness, not
// secrecy. Never use it for keys or tokens.
//
//   Rng rng(42);
//   std::int64_t die = rng.Uniform(1, 6);
//   double u = rng.NextDouble();  // [0, 1)
//
// Thread-safety: none; give each thread its own Rng.
#pragma once

#include <cstdint>

namespace keel {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t Next();
  double NextDouble();  // [0, 1)
  // Uniform in [lo, hi], unbiased. REQUIRES: lo <= hi.
  std::int64_t Uniform(std::int64_t lo, std::int64_t hi);

 private:
  std::uint64_t s_[4];
};

}  // namespace keel
