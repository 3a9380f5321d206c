#include "keel/ratelimit/hot_keys.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace keel::ratelimit {

namespace {

constexpr std::uint64_t kRowSeeds[8] = {
    0x9E3779B97F4A7C15ULL, 0xC2B2AE3D27D4EB4FULL, 0x165667B19E3779F9ULL, 0xD6E8FEB86659FD93ULL,
    0xFF51AFD7ED558CCDULL, 0xC4CEB9FE1A85EC53ULL, 0x94D049BB133111EBULL, 0xBF58476D1CE4E5B9ULL};

std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

StatusOr<std::unique_ptr<HotKeys>> HotKeys::Create(const HotKeysOptions& o) {
  if (!(o.factor >= 1)) return InvalidArgument("hot keys: factor must be >= 1");
  if (o.window <= Duration::zero()) return InvalidArgument("hot keys: window must be positive");
  if (!std::has_single_bit(o.width) || o.width < 64 || o.width > (1u << 24)) {
    return InvalidArgument("hot keys: width must be a power of two in [64, 2^24]");
  }
  if (o.depth < 1 || o.depth > 8) return InvalidArgument("hot keys: depth must be in [1, 8]");
  if (o.sample < 1 || o.sample > 4096) return InvalidArgument("hot keys: sample must be in [1, 4096]");
  return std::unique_ptr<HotKeys>(new HotKeys(o));
}

HotKeys::HotKeys(const HotKeysOptions& options)
    : options_(options),
      counters_(new std::atomic<std::uint32_t>[options.width * options.depth]) {
  for (std::size_t i = 0; i < options.width * options.depth; ++i) counters_[i].store(0);
  sample_.reserve(options.sample);
}

std::size_t HotKeys::Index(std::uint64_t key_hash, std::size_t row) const {
  const int shift = 64 - std::countr_zero(options_.width);
  return row * options_.width + static_cast<std::size_t>(Mix(key_hash ^ kRowSeeds[row]) >> shift);
}

bool HotKeys::Record(std::uint64_t key_hash, Clock::time_point now) {
  MaybeDecay(now);
  std::uint32_t estimate = ~std::uint32_t{0};
  for (std::size_t row = 0; row < options_.depth; ++row) {
    std::atomic<std::uint32_t>& c = counters_[Index(key_hash, row)];
    // Saturates rather than wraps (a counter halves every window anyway).
    std::uint32_t v = c.load(std::memory_order_relaxed);
    if (v < (1u << 31)) v = c.fetch_add(1, std::memory_order_relaxed) + 1;
    estimate = std::min(estimate, v);
  }
  if (key_hash < sample_bound_.load(std::memory_order_relaxed)) Sample(key_hash);

  // No threshold before the first window has closed: one window of counts
  // is the least history that tells a busy key from a start-up burst.
  const std::int64_t now_ns = now.time_since_epoch().count();
  if (threshold_.load(std::memory_order_relaxed) != 0 &&
      now_ns >= threshold_at_ns_.load(std::memory_order_relaxed)) {
    threshold_at_ns_.store(now_ns + options_.window.count() / 16, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(sample_mu_);
    // Too few keys since the last decay: keep the figure it left.
    if (sample_.size() >= std::min<std::size_t>(options_.sample, 4)) {
      threshold_.store(Threshold(), std::memory_order_relaxed);
    }
  }
  const std::uint32_t threshold = threshold_.load(std::memory_order_relaxed);
  return threshold != 0 && estimate >= threshold;
}

std::uint32_t HotKeys::Estimate(std::uint64_t key_hash) const {
  std::uint32_t estimate = ~std::uint32_t{0};
  for (std::size_t row = 0; row < options_.depth; ++row) {
    estimate = std::min(estimate, counters_[Index(key_hash, row)].load(std::memory_order_relaxed));
  }
  return estimate;
}

std::uint32_t HotKeys::TypicalCount() const {
  std::vector<std::uint32_t> estimates;
  {
    std::lock_guard<std::mutex> lock(sample_mu_);
    for (std::uint64_t k : sample_) estimates.push_back(Estimate(k));
  }
  if (estimates.empty()) return 0;
  auto mid = estimates.begin() + static_cast<std::ptrdiff_t>(estimates.size() / 2);
  std::nth_element(estimates.begin(), mid, estimates.end());
  return *mid;
}

// REQUIRES: sample_mu_ held.
std::uint32_t HotKeys::Threshold() {
  if (sample_.empty()) return 0;
  std::vector<std::uint32_t> estimates;
  estimates.reserve(sample_.size());
  for (std::uint64_t k : sample_) estimates.push_back(Estimate(k));
  auto mid = estimates.begin() + static_cast<std::ptrdiff_t>(estimates.size() / 2);
  std::nth_element(estimates.begin(), mid, estimates.end());
  const double t = std::ceil(options_.factor * std::max<std::uint32_t>(*mid, 1));
  return static_cast<std::uint32_t>(
      std::clamp<double>(t, options_.min_count, static_cast<double>(1u << 31)));
}

void HotKeys::Sample(std::uint64_t key_hash) {
  std::lock_guard<std::mutex> lock(sample_mu_);
  if (std::find(sample_.begin(), sample_.end(), key_hash) != sample_.end()) return;
  if (sample_.size() < options_.sample) {
    sample_.push_back(key_hash);
    std::push_heap(sample_.begin(), sample_.end());
  } else if (key_hash < sample_.front()) {
    std::pop_heap(sample_.begin(), sample_.end());
    sample_.back() = key_hash;
    std::push_heap(sample_.begin(), sample_.end());
  } else {
    return;
  }
  if (sample_.size() == options_.sample) {
    sample_bound_.store(sample_.front(), std::memory_order_relaxed);
  }
}

void HotKeys::MaybeDecay(Clock::time_point now) {
  const std::int64_t now_ns = now.time_since_epoch().count();
  std::int64_t end = window_end_ns_.load(std::memory_order_relaxed);
  if (now_ns < end) return;
  if (!window_end_ns_.compare_exchange_strong(end, now_ns + options_.window.count(),
                                              std::memory_order_relaxed)) {
    return;  // another thread decays this window
  }
  if (end == 0) return;  // the first call opens the first window
  // Increments racing with the halving may be lost: an estimate, not a count.
  for (std::size_t i = 0; i < options_.width * options_.depth; ++i) {
    counters_[i].store(counters_[i].load(std::memory_order_relaxed) / 2, std::memory_order_relaxed);
  }
  std::lock_guard<std::mutex> lock(sample_mu_);
  // The window's figure stands until the new sample has filled up again.
  threshold_.store(Threshold(), std::memory_order_relaxed);
  sample_.clear();
  sample_bound_.store(~std::uint64_t{0}, std::memory_order_relaxed);
}

OverLimitCache::OverLimitCache(std::size_t slots, Duration max_ttl)
    : max_ttl_(max_ttl), slots_(std::bit_ceil(std::max<std::size_t>(slots, 16))) {}

bool OverLimitCache::Lookup(std::uint64_t key_hash, Clock::time_point now,
                            Decision* decision) const {
  const std::size_t i = SlotOf(key_hash);
  const std::int64_t now_ns = now.time_since_epoch().count();
  std::lock_guard<std::mutex> lock(mu_[i % kStripes]);
  const Slot& s = slots_[i];
  if (s.until_ns == 0 || s.key != key_hash || now_ns >= s.until_ns) return false;
  *decision = s.decision;
  const Duration elapsed(std::max<std::int64_t>(now_ns - s.at_ns, 0));
  if (decision->retry_after != kNever) decision->retry_after -= elapsed;
  decision->reset_after = std::max(decision->reset_after - elapsed, Duration(0));
  return true;
}

void OverLimitCache::Insert(std::uint64_t key_hash, const Decision& decision,
                            Clock::time_point now) {
  if (decision.ok()) return;
  const Duration ttl = decision.retry_after == kNever ? max_ttl_
                                                      : std::min(decision.retry_after, max_ttl_);
  if (ttl <= Duration::zero()) return;
  const std::size_t i = SlotOf(key_hash);
  const std::int64_t now_ns = now.time_since_epoch().count();
  std::lock_guard<std::mutex> lock(mu_[i % kStripes]);
  slots_[i] = Slot{key_hash, now_ns + ttl.count(), now_ns, decision};
}

}  // namespace keel::ratelimit
