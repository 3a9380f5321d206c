#include "keel/resilience/adaptive_limiter.h"

#include <string>
#include <utility>

namespace keel::resilience {

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kCritical:
      return "critical";
    case Priority::kNormal:
      return "normal";
    case Priority::kLow:
      return "low";
  }
  return "normal";
}

AdaptiveLimiter::Token::Token(Token&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      start_(other.start_),
      inflight_(other.inflight_) {}

AdaptiveLimiter::Token& AdaptiveLimiter::Token::operator=(Token&& other) noexcept {
  if (this != &other) {
    Finish(Outcome::kIgnore);
    limiter_ = std::exchange(other.limiter_, nullptr);
    start_ = other.start_;
    inflight_ = other.inflight_;
  }
  return *this;
}

AdaptiveLimiter::Token::~Token() { Finish(Outcome::kIgnore); }
void AdaptiveLimiter::Token::OnSuccess() { Finish(Outcome::kSuccess); }
void AdaptiveLimiter::Token::OnDropped() { Finish(Outcome::kDropped); }
void AdaptiveLimiter::Token::OnIgnore() { Finish(Outcome::kIgnore); }

void AdaptiveLimiter::Token::Finish(Outcome outcome) {
  if (limiter_ == nullptr) return;
  AdaptiveLimiter* limiter = std::exchange(limiter_, nullptr);
  limiter->Release(*this, outcome);
}

StatusOr<std::unique_ptr<AdaptiveLimiter>> AdaptiveLimiter::Create(AdaptiveLimiterOptions options,
                                                                   const Clock& clock) {
  if (options.algorithm == nullptr && options.fixed_limit < 1) {
    return InvalidArgument("adaptive limiter: fixed_limit must be >= 1, got " +
                           std::to_string(options.fixed_limit));
  }
  for (int i = 0; i < kPriorityCount; ++i) {
    const double s = options.shares[static_cast<std::size_t>(i)];
    if (!(s > 0 && s <= 1)) {
      return InvalidArgument("adaptive limiter: share for " +
                             std::string(PriorityName(static_cast<Priority>(i))) +
                             " must be in (0, 1], got " + std::to_string(s));
    }
  }
  return std::unique_ptr<AdaptiveLimiter>(new AdaptiveLimiter(std::move(options), clock));
}

AdaptiveLimiter::AdaptiveLimiter(AdaptiveLimiterOptions options, const Clock& clock)
    : clock_(clock),
      shares_(options.shares),
      on_change_(std::move(options.on_change)),
      limit_(options.algorithm ? options.algorithm->limit() : options.fixed_limit),
      algorithm_(std::move(options.algorithm)) {}

std::optional<AdaptiveLimiter::Token> AdaptiveLimiter::TryAcquire(Priority priority) {
  const double allowed = limit() * shares_[static_cast<std::size_t>(priority)];
  int current = inflight_.load(std::memory_order_relaxed);
  do {
    if (current >= allowed) return std::nullopt;
  } while (!inflight_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  Token token(this, clock_.Now(), current + 1);
  Notify();
  return token;
}

void AdaptiveLimiter::Release(const Token& token, Token::Outcome outcome) {
  inflight_.fetch_sub(1, std::memory_order_relaxed);
  if (outcome != Token::Outcome::kIgnore) {
    const Clock::duration rtt = clock_.Now() - token.start_;
    std::lock_guard<std::mutex> lock(mu_);
    const std::int64_t old = rtt_ema_ns_.load(std::memory_order_relaxed);
    rtt_ema_ns_.store(old == 0 ? rtt.count() : old + (rtt.count() - old) / 10,
                      std::memory_order_relaxed);
    if (algorithm_ != nullptr) {
      algorithm_->OnSample(rtt, token.inflight_, outcome == Token::Outcome::kDropped);
      limit_.store(algorithm_->limit(), std::memory_order_relaxed);
    }
  }
  Notify();
}

void AdaptiveLimiter::Notify() {
  if (on_change_) on_change_(limit(), inflight());
}

}  // namespace keel::resilience
