#include "keel/base/scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace keel {
namespace {

using std::chrono::milliseconds;

TEST(SimulatedSchedulerTest, RunsTimersAtTheirDueTimeInOrder) {
  SimulatedScheduler sched;
  std::string order;
  Clock::time_point seen_b{};
  sched.After(milliseconds(20), [&] { order += "b"; seen_b = sched.clock().Now(); });
  sched.After(milliseconds(10), [&] { order += "a"; });
  sched.After(milliseconds(20), [&] { order += "c"; });  // same due time: scheduling order
  EXPECT_EQ(sched.AdvanceBy(milliseconds(9)), 0);
  EXPECT_EQ(order, "");
  EXPECT_EQ(sched.AdvanceBy(milliseconds(11)), 3);
  EXPECT_EQ(order, "abc");
  EXPECT_EQ(seen_b, Clock::time_point(milliseconds(20)));
  EXPECT_EQ(sched.pending(), 0u);
}

TEST(SimulatedSchedulerTest, CancelledTimerNeverRuns) {
  SimulatedScheduler sched;
  bool ran = false;
  TimerId id = sched.After(milliseconds(5), [&] { ran = true; });
  EXPECT_TRUE(sched.Cancel(id));
  EXPECT_FALSE(sched.Cancel(id));
  sched.AdvanceBy(milliseconds(10));
  EXPECT_FALSE(ran);
}

TEST(SimulatedSchedulerTest, PostRunsOnlyWhenDriven) {
  SimulatedScheduler sched;
  int n = 0;
  sched.Post([&] {
    ++n;
    sched.Post([&] { ++n; });  // scheduled from a callback: runs in the same RunReady
  });
  EXPECT_EQ(n, 0);
  EXPECT_EQ(sched.RunReady(), 2);
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace keel
