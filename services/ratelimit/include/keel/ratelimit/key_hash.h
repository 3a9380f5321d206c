// Store keys: a 64-bit hash of a domain and its descriptor entries.
//
//   DescriptorEntry entries[] = {{"remote_address", "10.0.0.1"}, {"path", "/login"}};
//   std::uint64_t key = HashDescriptor("edge", entries, seed);
//   Decision d = store.Apply(key, limit, 1, clock.Now());
//
// The hash is fast and well mixed, not cryptographic: callers whose
// descriptor values come from clients should pass a per-process random seed
// so collisions cannot be chosen. For the collision probability and what a
// collision does, see store.h.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace keel::ratelimit {

struct DescriptorEntry {
  std::string_view key;
  std::string_view value;
};

// An entry that owns its text (overrides, admin requests).
struct OwnedEntry {
  std::string key;
  std::string value;
  DescriptorEntry view() const { return {key, value}; }
};

// Hashes bytes; every input bit affects every output bit.
std::uint64_t Hash64(std::string_view bytes, std::uint64_t seed = 0);

// Hashes the domain and the entries in order; lengths are included, so
// ("ab","c") and ("a","bc") differ.
std::uint64_t HashDescriptor(std::string_view domain, std::span<const DescriptorEntry> entries,
                             std::uint64_t seed = 0);

}  // namespace keel::ratelimit
