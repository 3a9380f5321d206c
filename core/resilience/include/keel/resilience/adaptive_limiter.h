// AdaptiveLimiter: enforces a concurrency limit that a LimitAlgorithm adapts
// from the outcome of the requests it admitted (or a fixed limit).
//
// TryAcquire returns a Token while fewer than limit x share[priority]
// requests are in flight; the caller completes it exactly once:
//   OnSuccess()  the request finished normally: a sample for the algorithm;
//   OnDropped()  an overload signal (timeout, 503 from downstream);
//   OnIgnore()   no information (client cancel, 4xx): releases the slot only.
// A Token destroyed unfinished counts as OnIgnore. The RTT fed to the
// algorithm runs from TryAcquire to completion on the injected clock.
//
//   auto limiter = AdaptiveLimiter::Create(
//       {.algorithm = std::make_unique<GradientLimit>(GradientOptions{}, clock)}, clock);
//   if (auto token = (*limiter)->TryAcquire(Priority::kNormal)) {
//     Status s = Handle();
//     s.ok() ? token->OnSuccess() : token->OnDropped();
//   } else {
//     Reply503();
//   }
//
// Thread-safety: all methods are thread-safe. The inflight count is one
// atomic (admission is a CAS loop, no lock); samples update the algorithm
// under a mutex: an update is a few floating-point operations, so the lock is
// held for tens of nanoseconds, while a lock-free version would need the
// algorithm's whole state (two averages, the window, the limit) in one CAS.
// Ownership: Tokens hold a pointer to the limiter, which must outlive them.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/resilience/adaptive_limit.h"

namespace keel::resilience {

// Request priority for admission; lower values are more important.
enum class Priority { kCritical = 0, kNormal = 1, kLow = 2 };
inline constexpr int kPriorityCount = 3;
// "critical", "normal", "low".
std::string_view PriorityName(Priority p);

struct AdaptiveLimiterOptions {
  // The algorithm; null means a fixed limit of `fixed_limit` (no adaptation).
  std::unique_ptr<LimitAlgorithm> algorithm;
  int fixed_limit = 100;  // >= 1; used when algorithm is null
  // Fraction of the limit each priority may fill, indexed by Priority, each
  // in (0, 1]. All 1.0: priorities are ignored.
  std::array<double, kPriorityCount> shares = {1.0, 1.0, 1.0};
  // Called (outside the lock) after every acquire and release with the limit
  // and the inflight count read at that moment, e.g. to update gauges. Calls
  // from racing threads may land out of order, so a gauge fed this way can
  // lag by the requests in flight at that instant. May be empty.
  std::function<void(int limit, int inflight)> on_change;
};

class AdaptiveLimiter {
 public:
  class Token {
   public:
    Token(Token&& other) noexcept;
    Token& operator=(Token&& other) noexcept;
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;
    ~Token();

    // Each completes the token; later calls do nothing.
    void OnSuccess();
    void OnDropped();
    void OnIgnore();

   private:
    friend class AdaptiveLimiter;
    Token(AdaptiveLimiter* limiter, Clock::time_point start, int inflight)
        : limiter_(limiter), start_(start), inflight_(inflight) {}
    enum class Outcome { kSuccess, kDropped, kIgnore };
    void Finish(Outcome outcome);

    AdaptiveLimiter* limiter_;  // null once finished or moved from
    Clock::time_point start_;
    int inflight_;
  };

  // Errors: InvalidArgument for fixed_limit < 1 or a share outside (0, 1].
  // `clock` must outlive the limiter.
  static StatusOr<std::unique_ptr<AdaptiveLimiter>> Create(AdaptiveLimiterOptions options,
                                                           const Clock& clock);

  // A token if inflight < limit x share[priority], else nullopt (reject).
  std::optional<Token> TryAcquire(Priority priority = Priority::kNormal);

  int limit() const { return limit_.load(std::memory_order_relaxed); }
  int inflight() const { return inflight_.load(std::memory_order_relaxed); }
  // Exponential average (weight 0.1) of completed requests' RTT, dropped ones
  // included; zero before the first.
  Clock::duration smoothed_rtt() const {
    return Clock::duration(rtt_ema_ns_.load(std::memory_order_relaxed));
  }

 private:
  AdaptiveLimiter(AdaptiveLimiterOptions options, const Clock& clock);
  void Release(const Token& token, Token::Outcome outcome);
  void Notify();

  const Clock& clock_;
  const std::array<double, kPriorityCount> shares_;
  const std::function<void(int, int)> on_change_;
  std::atomic<int> limit_;
  std::atomic<int> inflight_{0};
  std::atomic<std::int64_t> rtt_ema_ns_{0};
  std::mutex mu_;
  const std::unique_ptr<LimitAlgorithm> algorithm_;  // GUARDED_BY(mu_); null: fixed
};

}  // namespace keel::resilience
