// AsioScheduler: the production keel::Scheduler over an Asio io_context.
//
// After() timers are steady_timers on the io_context; callbacks run on the
// thread that runs the io_context, never inside the call that scheduled them.
//
//   boost::asio::io_context io;
//   AsioScheduler sched(io);
//   TimerId t = sched.After(std::chrono::milliseconds(50), [] { Retry(); });
//   sched.Cancel(t);  // Retry() will not run
//
// Thread-safety: Post() may be called from any thread. After() and Cancel()
// only on the io_context's thread (inside a worker, use CurrentScheduler()
// from keel/net/worker_context.h).
//
// Ownership: the io_context must outlive the scheduler. Destroying the
// scheduler drops its pending timers (their callbacks never run); callbacks
// already posted with Post() still run.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "keel/base/scheduler.h"

namespace keel::net {

class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io);
  ~AsioScheduler() override;
  AsioScheduler(const AsioScheduler&) = delete;
  AsioScheduler& operator=(const AsioScheduler&) = delete;

  // The system steady clock (the clock steady_timer measures on).
  const Clock& clock() const override;
  void Post(std::function<void()> fn) override;
  TimerId After(Clock::duration delay, std::function<void()> fn) override;
  bool Cancel(TimerId id) override;

  // Timers scheduled and not yet run or cancelled.
  std::size_t pending() const;

 private:
  struct State;
  boost::asio::io_context& io_;
  // Shared with the timer handlers, which may run after this is destroyed.
  std::shared_ptr<State> state_;
};

}  // namespace keel::net
