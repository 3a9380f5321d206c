#include "keel/resilience/bulkhead.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace keel::resilience {
namespace {

using std::chrono::milliseconds;

class BulkheadTest : public ::testing::Test {
 protected:
  std::unique_ptr<Bulkhead> Make(int concurrent, int queue, Clock::duration max_wait = {}) {
    auto b = Bulkhead::Create({concurrent, queue, max_wait}, registry_, "users");
    EXPECT_TRUE(b.ok());
    return std::move(*b);
  }
  Clock::time_point In(Clock::duration d) { return sched_.clock().Now() + d; }
  std::uint64_t Rejected(const char* reason) {
    return registry_.AddCounter("keel_bulkhead_rejected_total", "", {"name", "reason"})
        .Get({"users", reason})->Value();
  }
  SimulatedScheduler sched_;
  obs::Registry registry_;
};

TEST_F(BulkheadTest, RejectsPastConcurrencyPlusQueue) {
  auto b = Make(2, 1);
  std::vector<int> results;  // 1 granted, 0 rejected
  for (int i = 0; i < 4; ++i)
    b->Enter(sched_, Clock::time_point::max(), [&](bool g) { results.push_back(g); });
  EXPECT_EQ(results, (std::vector<int>{1, 1, 0}));  // the third waits
  EXPECT_EQ(b->queued(), 1);
  EXPECT_EQ(Rejected("full"), 1u);
}

TEST_F(BulkheadTest, GrantsWaitersInFifoOrderOnTheirScheduler) {
  auto b = Make(1, 3);
  std::vector<int> order;
  b->Enter(sched_, Clock::time_point::max(), [&](bool g) { ASSERT_TRUE(g); });
  for (int i = 1; i <= 3; ++i)
    b->Enter(sched_, Clock::time_point::max(), [&, i](bool g) { if (g) order.push_back(i); });
  b->Leave();
  EXPECT_TRUE(order.empty());  // resumed through Post(), not inside Leave()
  sched_.RunReady();
  b->Leave();
  b->Leave();
  sched_.RunReady();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(b->in_use(), 1);
  b->Leave();
  EXPECT_EQ(b->in_use(), 0);
}

TEST_F(BulkheadTest, QueuedWaiterTimesOutAtItsDeadline) {
  auto b = Make(1, 1);
  b->Enter(sched_, Clock::time_point::max(), [](bool) {});
  int result = -1;
  b->Enter(sched_, In(milliseconds(100)), [&](bool g) { result = g; });
  sched_.AdvanceBy(milliseconds(99));
  EXPECT_EQ(result, -1);
  sched_.AdvanceBy(milliseconds(1));
  EXPECT_EQ(result, 0);
  EXPECT_EQ(b->queued(), 0);
  EXPECT_EQ(Rejected("timeout"), 1u);
  b->Leave();
  EXPECT_EQ(b->in_use(), 0);
}

TEST_F(BulkheadTest, MaxWaitShortensTheWait) {
  auto b = Make(1, 1, milliseconds(10));
  b->Enter(sched_, Clock::time_point::max(), [](bool) {});
  int result = -1;
  b->Enter(sched_, In(milliseconds(100)), [&](bool g) { result = g; });
  sched_.AdvanceBy(milliseconds(10));
  EXPECT_EQ(result, 0);
}

TEST_F(BulkheadTest, GrantCancelsTheTimeoutTimer) {
  auto b = Make(1, 1);
  b->Enter(sched_, Clock::time_point::max(), [](bool) {});
  int calls = 0;
  b->Enter(sched_, In(milliseconds(100)), [&](bool g) { calls += g ? 1 : 100; });
  b->Leave();
  sched_.AdvanceBy(milliseconds(200));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(sched_.pending(), 0u);
}

TEST_F(BulkheadTest, LeaveOnAnotherThreadResumesTheWaiterOnItsOwnScheduler) {
  auto b = Make(1, 1);
  b->Enter(sched_, Clock::time_point::max(), [](bool) {});
  int result = -1;
  b->Enter(sched_, In(milliseconds(100)), [&](bool g) { result = g; });
  std::thread other([&] { b->Leave(); });
  other.join();
  EXPECT_EQ(result, -1);  // not run on the other thread
  sched_.RunReady();
  EXPECT_EQ(result, 1);
  EXPECT_EQ(b->in_use(), 1);
}

TEST_F(BulkheadTest, DefaultsDeriveFromCores) {
  auto b = Make(0, -1);
  EXPECT_GE(b->max_concurrent(), 2);
  EXPECT_EQ(b->max_queue(), b->max_concurrent());
}

TEST_F(BulkheadTest, ConcurrentEnterLeaveKeepsCountsConsistent) {
  auto b = Make(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      SimulatedScheduler local;
      for (int i = 0; i < 2000; ++i) {
        bool granted = false;
        b->Enter(local, Clock::time_point::max(), [&](bool g) { granted = g; });
        if (granted) b->Leave();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(b->in_use(), 0);
  EXPECT_EQ(b->queued(), 0);
}

}  // namespace
}  // namespace keel::resilience
