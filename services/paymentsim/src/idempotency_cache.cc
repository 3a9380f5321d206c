#include "idempotency_cache.h"

#include <cassert>
#include <utility>

namespace keel::paymentsim {

IdempotencyCache::IdempotencyCache(std::size_t capacity) : capacity_(capacity) {
  assert(capacity_ >= 1);
}

const IdempotencyCache::Entry* IdempotencyCache::Find(std::string_view key) const {
  // C++20's heterogeneous lookup needs a transparent hash; keys are short.
  auto it = entries_.find(std::string(key));
  return it == entries_.end() ? nullptr : &it->second;
}

void IdempotencyCache::Insert(std::string key, Entry entry) {
  while (entries_.size() >= capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(key);
  entries_.emplace(std::move(key), std::move(entry));
}

}  // namespace keel::paymentsim
