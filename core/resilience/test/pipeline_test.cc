#include "keel/resilience/pipeline.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace keel::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// An upstream whose attempts stay pending until the test completes them.
struct FakeUpstream {
  struct Try {
    AttemptContext ctx;
    std::function<void(Outcome)> done;
    bool cancelled = false;
    Clock::time_point started;
  };
  Attempt AsAttempt(SimulatedScheduler& sched) {
    return [this, &sched](const AttemptContext& ctx, std::function<void(Outcome)> done) {
      tries.push_back(Try{ctx, std::move(done), false, sched.clock().Now()});
      std::size_t i = tries.size() - 1;
      if (auto o = auto_outcome) tries[i].done(*o);
      return CancelFn([this, i] { tries[i].cancelled = true; });
    };
  }
  std::vector<Try> tries;
  std::optional<Outcome::Kind> auto_outcome;  // complete every try at once
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineOptions Options() {
    PipelineOptions o;
    o.breaker_enabled = false;
    o.bulkhead.max_concurrent = 100;
    return o;
  }
  void Make(PipelineOptions o) {
    auto p = Pipeline::Create(std::move(o), sched_.clock(), registry_, "users");
    ASSERT_TRUE(p.ok()) << p.status().message();
    pipeline_ = std::move(*p);
  }
  void Call(CallOptions co = {}) {
    pipeline_->Call(sched_, co, upstream_.AsAttempt(sched_),
                    [this](const Outcome& o, const CallStats& s) {
                      ++done_calls_;
                      outcome_ = o.kind;
                      stats_ = s;
                    });
  }
  std::string Metrics() { return registry_.Render(obs::ExpositionFormat::kPrometheusText); }

  SimulatedScheduler sched_;
  obs::Registry registry_;
  std::unique_ptr<Pipeline> pipeline_;
  FakeUpstream upstream_;
  int done_calls_ = 0;
  std::optional<Outcome::Kind> outcome_;
  CallStats stats_;
};

TEST_F(PipelineTest, RetriesRetryableFailureWithBackoffAndStopsAtMaxAttempts) {
  Make(Options());
  Call();
  ASSERT_EQ(upstream_.tries.size(), 1u);
  upstream_.tries[0].done(Outcome::kFailure);
  EXPECT_EQ(upstream_.tries.size(), 1u);  // backing off, not yet retried
  sched_.AdvanceBy(milliseconds(50));     // first backoff <= base
  ASSERT_EQ(upstream_.tries.size(), 2u);
  EXPECT_EQ(upstream_.tries[1].ctx.attempt, 2);
  upstream_.tries[1].done(Outcome::kFailure);
  sched_.AdvanceBy(milliseconds(100));    // second backoff <= 2 x base
  ASSERT_EQ(upstream_.tries.size(), 3u);
  upstream_.tries[2].done(Outcome::kFailure);
  sched_.AdvanceBy(seconds(10));
  EXPECT_EQ(upstream_.tries.size(), 3u);
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(outcome_, Outcome::kFailure);
  EXPECT_EQ(stats_.attempts, 3);
  EXPECT_NE(Metrics().find("keel_retries_total{name=\"users\"} 2"), std::string::npos);
  EXPECT_NE(Metrics().find("keel_retry_attempts_exhausted_total{name=\"users\"} 1"),
            std::string::npos);
}

TEST_F(PipelineTest, SucceedsOnRetry) {
  Make(Options());
  Call();
  upstream_.tries[0].done(Outcome::kTimeout);
  sched_.AdvanceBy(milliseconds(50));
  upstream_.tries[1].done(Outcome::kSuccess);
  EXPECT_EQ(outcome_, Outcome::kSuccess);
  EXPECT_EQ(sched_.pending(), 0u);
}

TEST_F(PipelineTest, DoesNotRetryFatal) {
  Make(Options());
  Call();
  upstream_.tries[0].done(Outcome::kFatal);
  sched_.AdvanceBy(seconds(10));
  EXPECT_EQ(upstream_.tries.size(), 1u);
  EXPECT_EQ(outcome_, Outcome::kFatal);
}

TEST_F(PipelineTest, OutageOfThousandCallsMakesAtMostTenPercentExtraAttempts) {
  PipelineOptions o = Options();
  o.retry.min_retries_per_second = 0;
  Make(o);
  upstream_.auto_outcome = Outcome::kFailure;
  for (int i = 0; i < 1000; ++i) {
    Call();
    sched_.AdvanceBy(milliseconds(1));
  }
  sched_.AdvanceBy(seconds(5));
  EXPECT_EQ(done_calls_, 1000);
  EXPECT_LE(upstream_.tries.size(), 1100u);
  EXPECT_GE(upstream_.tries.size(), 1050u);  // the budget did allow retries
  EXPECT_NE(Metrics().find("keel_retry_budget_exhausted_total{name=\"users\"}"),
            std::string::npos);
}

TEST_F(PipelineTest, PerTryTimeoutCancelsTheAttemptAndRetries) {
  PipelineOptions o = Options();
  o.per_try_timeout = milliseconds(100);
  Make(o);
  Call();
  EXPECT_EQ(upstream_.tries[0].ctx.deadline.when(), sched_.clock().Now() + milliseconds(100));
  sched_.AdvanceBy(milliseconds(100));
  EXPECT_TRUE(upstream_.tries[0].cancelled);
  upstream_.tries[0].done(Outcome::kSuccess);  // after cancel: ignored
  EXPECT_EQ(done_calls_, 0);
  sched_.AdvanceBy(milliseconds(50));
  ASSERT_EQ(upstream_.tries.size(), 2u);
  upstream_.tries[1].done(Outcome::kSuccess);
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(outcome_, Outcome::kSuccess);
}

TEST_F(PipelineTest, TotalDeadlineBoundsTheWholeCall) {
  PipelineOptions o = Options();
  o.retry.max_attempts = 100;
  o.retry.min_retries_per_second = 1000;
  Make(o);
  const Clock::time_point start = sched_.clock().Now();
  CallOptions co;
  co.deadline = Deadline::After(start, milliseconds(300));
  upstream_.auto_outcome = Outcome::kFailure;
  Call(co);
  sched_.AdvanceBy(seconds(10));
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(outcome_, Outcome::kTimeout);
  EXPECT_LE(stats_.elapsed, milliseconds(300));
  for (const auto& t : upstream_.tries) EXPECT_LT(t.started, start + milliseconds(300));
}

TEST_F(PipelineTest, PendingAttemptTimesOutAtTheCallDeadline) {
  Make(Options());
  CallOptions co;
  co.deadline = Deadline::After(sched_.clock().Now(), milliseconds(200));
  Call(co);
  sched_.AdvanceBy(milliseconds(200));
  EXPECT_TRUE(upstream_.tries[0].cancelled);
  EXPECT_EQ(outcome_, Outcome::kTimeout);
  EXPECT_EQ(sched_.pending(), 0u);
}

TEST_F(PipelineTest, ExpiredDeadlineFailsWithoutAnAttempt) {
  Make(Options());
  CallOptions co;
  co.deadline = Deadline::At(sched_.clock().Now());
  Call(co);
  EXPECT_EQ(outcome_, Outcome::kTimeout);
  EXPECT_TRUE(upstream_.tries.empty());
}

TEST_F(PipelineTest, HedgeStartsAfterTheDelayAndTheLoserIsCancelled) {
  PipelineOptions o = Options();
  o.hedge.enabled = true;
  o.hedge.delay = [] { return std::optional<Clock::duration>(milliseconds(30)); };
  Make(o);
  Call({Deadline::Infinite(), true});
  sched_.AdvanceBy(milliseconds(29));
  ASSERT_EQ(upstream_.tries.size(), 1u);
  sched_.AdvanceBy(milliseconds(1));
  ASSERT_EQ(upstream_.tries.size(), 2u);
  EXPECT_TRUE(upstream_.tries[1].ctx.is_hedge);
  upstream_.tries[1].done(Outcome::kSuccess);
  EXPECT_EQ(outcome_, Outcome::kSuccess);
  EXPECT_TRUE(upstream_.tries[0].cancelled);
  EXPECT_TRUE(stats_.hedged);
  EXPECT_TRUE(stats_.hedge_won);
  upstream_.tries[0].done(Outcome::kSuccess);  // the loser answering late is ignored
  EXPECT_EQ(done_calls_, 1);
  const std::string m = Metrics();
  EXPECT_NE(m.find("keel_hedges_total{name=\"users\",result=\"started\"} 1"), std::string::npos);
  EXPECT_NE(m.find("keel_hedges_total{name=\"users\",result=\"won\"} 1"), std::string::npos);
}

TEST_F(PipelineTest, AtMostOneHedgeAndPrimaryCanWin) {
  PipelineOptions o = Options();
  o.hedge.enabled = true;
  o.hedge.delay = [] { return std::optional<Clock::duration>(milliseconds(10)); };
  Make(o);
  Call({Deadline::Infinite(), true});
  sched_.AdvanceBy(milliseconds(100));
  ASSERT_EQ(upstream_.tries.size(), 2u);
  upstream_.tries[0].done(Outcome::kSuccess);
  EXPECT_TRUE(upstream_.tries[1].cancelled);
  EXPECT_FALSE(stats_.hedge_won);
  EXPECT_NE(Metrics().find("keel_hedges_total{name=\"users\",result=\"lost\"} 1"),
            std::string::npos);
}

TEST_F(PipelineTest, MaxAttemptsSpacesHedgesByTheDelayAndCancelsEveryLoser) {
  PipelineOptions o = Options();
  o.hedge.enabled = true;
  o.hedge.max_attempts = 3;
  o.hedge.delay = [] { return std::optional<Clock::duration>(milliseconds(10)); };
  Make(o);
  Call({Deadline::Infinite(), true});
  sched_.AdvanceBy(milliseconds(10));
  ASSERT_EQ(upstream_.tries.size(), 2u);
  sched_.AdvanceBy(milliseconds(9));
  ASSERT_EQ(upstream_.tries.size(), 2u);
  sched_.AdvanceBy(milliseconds(1));  // the second hedge, one delay after the first
  ASSERT_EQ(upstream_.tries.size(), 3u);
  EXPECT_EQ(upstream_.tries[2].started - upstream_.tries[1].started, milliseconds(10));
  EXPECT_TRUE(upstream_.tries[2].ctx.is_hedge);
  EXPECT_EQ(upstream_.tries[2].ctx.attempt, 1);  // hedges share their try's number
  sched_.AdvanceBy(seconds(1));
  EXPECT_EQ(upstream_.tries.size(), 3u);  // never more than max_attempts legs
  upstream_.tries[2].done(Outcome::kSuccess);
  EXPECT_EQ(outcome_, Outcome::kSuccess);
  EXPECT_TRUE(upstream_.tries[0].cancelled);
  EXPECT_TRUE(upstream_.tries[1].cancelled);
  EXPECT_EQ(stats_.hedges, 2);
  EXPECT_TRUE(stats_.hedge_won);
  EXPECT_NE(Metrics().find("keel_hedges_total{name=\"users\",result=\"started\"} 2"),
            std::string::npos);
}

TEST_F(PipelineTest, AFailedLegStopsFurtherHedgesAndTheOthersStillDecide) {
  PipelineOptions o = Options();
  o.hedge.enabled = true;
  o.hedge.max_attempts = 3;
  o.retry.max_attempts = 1;
  o.hedge.delay = [] { return std::optional<Clock::duration>(milliseconds(10)); };
  Make(o);
  Call({Deadline::Infinite(), true});
  sched_.AdvanceBy(milliseconds(10));
  ASSERT_EQ(upstream_.tries.size(), 2u);
  upstream_.tries[0].done(Outcome::kFailure);  // the primary fails; the hedge is pending
  EXPECT_EQ(done_calls_, 0);
  sched_.AdvanceBy(milliseconds(50));
  EXPECT_EQ(upstream_.tries.size(), 2u);  // no second hedge once a leg has failed
  upstream_.tries[1].done(Outcome::kFailure);
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(outcome_, Outcome::kFailure);
}

TEST_F(PipelineTest, CreateRejectsHedgeMaxAttemptsOutOfRange) {
  for (int bad : {0, kMaxHedgeAttempts + 1}) {
    PipelineOptions o = Options();
    o.hedge.max_attempts = bad;
    auto p = Pipeline::Create(o, sched_.clock(), registry_, "bad");
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.status().message().find("hedge.max_attempts"), std::string::npos);
  }
}

TEST_F(PipelineTest, NoHedgeForNonIdempotentCalls) {
  PipelineOptions o = Options();
  o.hedge.enabled = true;
  o.hedge.delay = [] { return std::optional<Clock::duration>(milliseconds(10)); };
  Make(o);
  Call({Deadline::Infinite(), false});
  sched_.AdvanceBy(seconds(1));
  EXPECT_EQ(upstream_.tries.size(), 1u);
}

TEST_F(PipelineTest, BreakerRejectionFailsFastWithoutCallingTheAttempt) {
  PipelineOptions o = Options();
  o.breaker_enabled = true;
  o.breaker.minimum_calls = 5;
  o.breaker.window_size = 5;
  o.retry.max_attempts = 1;
  Make(o);
  upstream_.auto_outcome = Outcome::kFailure;
  for (int i = 0; i < 5; ++i) Call();
  ASSERT_EQ(pipeline_->breaker()->state(), CircuitBreaker::State::kOpen);
  upstream_.tries.clear();
  Call();
  EXPECT_EQ(outcome_, Outcome::kRejected);
  EXPECT_TRUE(upstream_.tries.empty());
  EXPECT_NE(Metrics().find("keel_resilience_calls_total{name=\"users\",outcome=\"rejected\"} 1"),
            std::string::npos);
}

TEST_F(PipelineTest, BulkheadFullRejectsAndPermitIsReleasedOnDone) {
  PipelineOptions o = Options();
  o.bulkhead.max_concurrent = 1;
  o.bulkhead.max_queue = 0;
  Make(o);
  Call();
  Call();
  EXPECT_EQ(outcome_, Outcome::kRejected);
  EXPECT_EQ(upstream_.tries.size(), 1u);
  upstream_.tries[0].done(Outcome::kSuccess);
  EXPECT_EQ(pipeline_->bulkhead()->in_use(), 0);
}

TEST_F(PipelineTest, SynchronousCompletionCallsDoneExactlyOnce) {
  Make(Options());
  upstream_.auto_outcome = Outcome::kSuccess;
  for (int i = 0; i < 10; ++i) Call();
  sched_.AdvanceBy(seconds(1));
  EXPECT_EQ(done_calls_, 10);
  EXPECT_EQ(sched_.pending(), 0u);
}

TEST_F(PipelineTest, CreateRejectsBadOptions) {
  PipelineOptions o = Options();
  o.retry.max_attempts = 0;
  auto p = Pipeline::Create(o, sched_.clock(), registry_, "x");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("max_attempts"), std::string::npos);
}

}  // namespace
}  // namespace keel::resilience
