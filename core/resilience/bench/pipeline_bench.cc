// Per-call overhead of the full pipeline (bulkhead, breaker, retry budget,
// deadline, per-try timeout timer, hedge check) around an attempt that
// completes at once; single thread, no contention.
//
// The scheduler here is a minimal inline one (a vector of timers, cancel by
// id): SimulatedScheduler's std::map would dominate the measurement, and the
// production scheduler is Asio's, whose timers this does not model either.
#include <benchmark/benchmark.h>

#include <vector>

#include "keel/resilience/pipeline.h"

namespace keel::resilience {
namespace {

class InlineScheduler final : public Scheduler {
 public:
  const Clock& clock() const override { return clock_; }
  void Post(std::function<void()> fn) override { fn(); }
  TimerId After(Clock::duration, std::function<void()> fn) override {
    timers_.push_back({++next_, std::move(fn)});
    return next_;
  }
  bool Cancel(TimerId id) override {
    for (std::size_t i = timers_.size(); i-- > 0;) {
      if (timers_[i].id == id) {
        timers_[i] = std::move(timers_.back());
        timers_.pop_back();
        return true;
      }
    }
    return false;
  }

 private:
  struct Timer {
    TimerId id;
    std::function<void()> fn;
  };
  ManualClock clock_{Clock::time_point(std::chrono::seconds(1))};
  TimerId next_ = 0;
  std::vector<Timer> timers_;
};

void BM_PipelineCall(benchmark::State& state) {
  InlineScheduler sched;
  obs::Registry registry;
  PipelineOptions o;
  o.bulkhead.max_concurrent = 64;
  o.per_try_timeout = std::chrono::milliseconds(100);
  o.hedge.enabled = true;
  o.hedge.delay = [] { return std::optional<Clock::duration>(std::chrono::milliseconds(20)); };
  auto p = Pipeline::Create(o, sched.clock(), registry, "bench");
  Attempt attempt = [](const AttemptContext&, std::function<void(Outcome)> done) {
    done(Outcome::kSuccess);
    return CancelFn();
  };
  int ok = 0;
  CallDone done = [&ok](const Outcome& out, const CallStats&) { ok += out.kind == Outcome::kSuccess; };
  const CallOptions co{Deadline::After(sched.clock().Now(), std::chrono::seconds(3600)), true};
  for (auto _ : state) {
    (*p)->Call(sched, co, attempt, done);
  }
  benchmark::DoNotOptimize(ok);
  if (ok != static_cast<int>(state.iterations())) state.SkipWithError("a call did not succeed");
}
BENCHMARK(BM_PipelineCall);

}  // namespace
}  // namespace keel::resilience

BENCHMARK_MAIN();
