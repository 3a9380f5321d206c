// IdempotencyCache: the stored first answers of idempotent requests, by
// Idempotency-Key, with Stripe's rule that a key belongs to one request.
//
// Each entry keeps a fingerprint of the request that first used the key (a
// hash of method, path and canonical body) and the answer it got. The cache
// holds at most `capacity` keys; inserting one more evicts the oldest
// inserted (FIFO; a replay does not refresh a key).
//
//   IdempotencyCache cache(100000);
//   if (const auto* e = cache.Find(key)) { ... e->fingerprint, e->status ... }
//   cache.Insert(key, {fingerprint, 200, body});
//
// Thread-safety: none; the Simulator guards it with its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace keel::paymentsim {

class IdempotencyCache {
 public:
  struct Entry {
    std::uint64_t fingerprint = 0;
    int status = 0;
    std::string body;
  };

  // REQUIRES: capacity >= 1.
  explicit IdempotencyCache(std::size_t capacity);

  // The entry of `key`, or null. Valid until the next Insert().
  const Entry* Find(std::string_view key) const;
  // REQUIRES: Find(key) == null.
  void Insert(std::string key, Entry entry);

  std::size_t size() const { return entries_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // insertion order, oldest first
};

}  // namespace keel::paymentsim
