#include "keel/resilience/bulkhead.h"

#include <algorithm>
#include <thread>

namespace keel::resilience {

namespace {
int DefaultConcurrency() {
  return 2 * std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}
}  // namespace

Status ValidateBulkheadOptions(const BulkheadOptions& o) {
  if (o.max_concurrent < 0) return InvalidArgument("bulkhead.max_concurrent must be >= 0");
  if (o.max_queue < -1) return InvalidArgument("bulkhead.max_queue must be >= -1");
  if (o.max_wait < Clock::duration::zero())
    return InvalidArgument("bulkhead.max_wait must be >= 0");
  return Status::Ok();
}

StatusOr<std::unique_ptr<Bulkhead>> Bulkhead::Create(const BulkheadOptions& options,
                                                     obs::Registry& registry,
                                                     const std::string& name) {
  if (Status s = ValidateBulkheadOptions(options); !s.ok()) return s;
  return std::unique_ptr<Bulkhead>(new Bulkhead(options, registry, name));
}

Bulkhead::Bulkhead(const BulkheadOptions& o, obs::Registry& registry, const std::string& name)
    : max_concurrent_(o.max_concurrent > 0 ? o.max_concurrent : DefaultConcurrency()),
      max_queue_(o.max_queue >= 0 ? o.max_queue : max_concurrent_),
      max_wait_(o.max_wait),
      in_use_gauge_(registry.AddGauge("keel_bulkhead_in_use", "Bulkhead permits held.", {"name"})
                        .Get({name})),
      queued_gauge_(
          registry.AddGauge("keel_bulkhead_queued", "Calls waiting for a bulkhead permit.", {"name"})
              .Get({name})),
      rejected_full_(registry
                         .AddCounter("keel_bulkhead_rejected_total",
                                     "Calls the bulkhead refused, by reason.", {"name", "reason"})
                         .Get({name, "full"})),
      rejected_timeout_(registry.AddCounter("keel_bulkhead_rejected_total", "", {"name", "reason"})
                            .Get({name, "timeout"})) {}

int Bulkhead::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

int Bulkhead::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

void Bulkhead::PublishLocked() {
  in_use_gauge_->Set(in_use_);
  queued_gauge_->Set(static_cast<double>(queue_.size()));
}

void Bulkhead::Enter(Scheduler& sched, Clock::time_point deadline,
                     std::function<void(bool)> done) {
  enum { kGranted, kFull, kQueued } result;
  std::shared_ptr<Waiter> w;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_use_ < max_concurrent_ && queue_.empty()) {
      ++in_use_;
      result = kGranted;
    } else if (static_cast<int>(queue_.size()) >= max_queue_) {
      result = kFull;
    } else {
      w = std::make_shared<Waiter>(Waiter{&sched, std::move(done)});
      queue_.push_back(w);
      result = kQueued;
    }
    PublishLocked();
  }
  if (result != kQueued) {
    if (result == kFull) rejected_full_->Inc();
    done(result == kGranted);
    return;
  }
  Clock::time_point now = sched.clock().Now();
  Clock::time_point until = deadline;
  if (max_wait_ > Clock::duration::zero() && now + max_wait_ < until) until = now + max_wait_;
  // An infinite deadline without max_wait waits for a permit, with no timer.
  if (until != Clock::time_point::max()) {
    // Leave() on another thread may already have granted w, but its Post()
    // runs on this thread after we return, so the id is set before it reads it.
    w->timer = sched.After(until - now, [this, w] { OnTimeout(w); });
  }
}

void Bulkhead::OnTimeout(const std::shared_ptr<Waiter>& w) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!w->queued) return;  // granted; its Post() is on the way
    w->queued = false;
    queue_.erase(std::find(queue_.begin(), queue_.end(), w));
    PublishLocked();
  }
  rejected_timeout_->Inc();
  w->done(false);
}

void Bulkhead::Leave() {
  std::shared_ptr<Waiter> next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) {
      --in_use_;
    } else {
      // The permit passes to the oldest waiter; in_use_ is unchanged.
      next = std::move(queue_.front());
      queue_.pop_front();
      next->queued = false;
    }
    PublishLocked();
  }
  if (next) {
    Scheduler* sched = next->sched;
    sched->Post([next] {
      if (next->timer != 0) next->sched->Cancel(next->timer);
      next->done(true);
    });
  }
}

}  // namespace keel::resilience
