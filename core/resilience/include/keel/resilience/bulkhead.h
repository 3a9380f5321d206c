// Bulkhead: caps the calls in flight to one upstream, with a bounded FIFO
// queue for bursts, so that a slow upstream ties up at most `max_concurrent`
// of a worker pool's resources.
//
// Enter() grants a permit at once when one is free and nobody is queued;
// otherwise it queues the caller (if the queue has room) until Leave()
// hands it a permit, or until its wait ends: the call's deadline, or
// `max_wait` when that is set and sooner. A full queue rejects at once.
//
//   bulkhead->Enter(sched, deadline, [&](bool granted) {
//     if (!granted) return Reject();
//     Call(...);  ... on completion: bulkhead->Leave();
//   });
//
// Callbacks: an immediate grant or a "queue full" rejection runs inside
// Enter(); a queued waiter is resumed (granted or timed out) later on the
// Scheduler it passed to Enter(), via Post() or a timer, never inside
// another worker's Leave().
//
// Thread-safety: Enter/Leave are thread-safe (one mutex). Enter() must be
// called on `sched`'s thread. The registry must outlive the bulkhead.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "keel/base/scheduler.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"

namespace keel::resilience {

struct BulkheadOptions {
  // 0 = 2 x std::thread::hardware_concurrency().
  int max_concurrent = 0;
  // Waiters beyond max_concurrent. -1 = equal to max_concurrent: a burst of
  // twice the limit is absorbed, and a waiter waits at most about one call
  // time per queue position ahead of it, so the queue cannot hide an outage.
  int max_queue = -1;
  // Longest time in the queue; 0 = until the call's deadline.
  Clock::duration max_wait{0};
};

Status ValidateBulkheadOptions(const BulkheadOptions& options);

class Bulkhead {
 public:
  // Registers keel_bulkhead_in_use{name}, keel_bulkhead_queued{name},
  // keel_bulkhead_rejected_total{name,reason} (reason full|timeout).
  static StatusOr<std::unique_ptr<Bulkhead>> Create(const BulkheadOptions& options,
                                                    obs::Registry& registry,
                                                    const std::string& name);
  Bulkhead(const Bulkhead&) = delete;
  Bulkhead& operator=(const Bulkhead&) = delete;

  // `done(true)`: the caller holds a permit and must call Leave() once.
  void Enter(Scheduler& sched, Clock::time_point deadline, std::function<void(bool granted)> done);
  void Leave();

  int max_concurrent() const { return max_concurrent_; }
  int max_queue() const { return max_queue_; }
  int in_use() const;
  int queued() const;

 private:
  struct Waiter {
    Scheduler* sched;
    std::function<void(bool)> done;
    TimerId timer = 0;
    bool queued = true;  // GUARDED_BY(Bulkhead::mu_)
  };
  Bulkhead(const BulkheadOptions& options, obs::Registry& registry, const std::string& name);
  void OnTimeout(const std::shared_ptr<Waiter>& w);
  void PublishLocked();

  const int max_concurrent_;
  const int max_queue_;
  const Clock::duration max_wait_;
  obs::Gauge* const in_use_gauge_;
  obs::Gauge* const queued_gauge_;
  obs::Counter* const rejected_full_;
  obs::Counter* const rejected_timeout_;

  mutable std::mutex mu_;
  int in_use_ = 0;                              // GUARDED_BY(mu_)
  std::deque<std::shared_ptr<Waiter>> queue_;   // GUARDED_BY(mu_)
};

}  // namespace keel::resilience
