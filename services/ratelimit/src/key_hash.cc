#include "keel/ratelimit/key_hash.h"

#include <cstring>

namespace keel::ratelimit {
namespace {

constexpr std::uint64_t kMul = 0x9fb21c651e98df25ULL;

std::uint64_t Fmix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t Step(std::uint64_t h, std::uint64_t word) {
  h ^= Fmix64(word + 0x9e3779b97f4a7c15ULL);
  return ((h << 27) | (h >> 37)) * kMul;
}

}  // namespace

std::uint64_t Hash64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = Fmix64(seed ^ (bytes.size() * kMul));
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    h = Step(h, word);
    p += 8;
    left -= 8;
  }
  if (left > 0) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, left);
    h = Step(h, word ^ (std::uint64_t{left} << 56));
  }
  return Fmix64(h);
}

std::uint64_t HashDescriptor(std::string_view domain, std::span<const DescriptorEntry> entries,
                             std::uint64_t seed) {
  std::uint64_t h = Hash64(domain, seed);
  for (const DescriptorEntry& e : entries) {
    h = Step(h, Hash64(e.key, seed));
    h = Step(h, Hash64(e.value, seed ^ 1));
  }
  return Fmix64(h);
}

}  // namespace keel::ratelimit
