#include "keel/net/asio_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace keel::net {
namespace {

using namespace std::chrono_literals;

// Runs the loop until `done` or a bound passes, so a broken timer fails the
// test instead of hanging it.
template <typename Pred>
void RunUntil(boost::asio::io_context& io, Pred done, std::chrono::milliseconds bound = 2000ms) {
  auto end = std::chrono::steady_clock::now() + bound;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(5ms);
  }
}

TEST(AsioSchedulerTest, PostRunsOnTheLoopNotInline) {
  boost::asio::io_context io;
  AsioScheduler sched(io);
  bool ran = false;
  sched.Post([&] { ran = true; });
  EXPECT_FALSE(ran);
  RunUntil(io, [&] { return ran; });
  EXPECT_TRUE(ran);
}

TEST(AsioSchedulerTest, AfterRunsInDueOrder) {
  boost::asio::io_context io;
  AsioScheduler sched(io);
  std::vector<int> order;
  auto start = sched.clock().Now();
  sched.After(30ms, [&] { order.push_back(2); });
  sched.After(1ms, [&] { order.push_back(1); });
  EXPECT_EQ(sched.pending(), 2u);
  RunUntil(io, [&] { return order.size() == 2; });
  ASSERT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(sched.clock().Now() - start, 30ms);
  EXPECT_EQ(sched.pending(), 0u);
}

TEST(AsioSchedulerTest, CancelPreventsTheCallback) {
  boost::asio::io_context io;
  AsioScheduler sched(io);
  bool cancelled_ran = false;
  bool other_ran = false;
  TimerId t = sched.After(5ms, [&] { cancelled_ran = true; });
  sched.After(20ms, [&] { other_ran = true; });
  EXPECT_TRUE(sched.Cancel(t));
  EXPECT_FALSE(sched.Cancel(t));
  EXPECT_FALSE(sched.Cancel(12345));
  RunUntil(io, [&] { return other_ran; });
  EXPECT_TRUE(other_ran);
  EXPECT_FALSE(cancelled_ran);
}

TEST(AsioSchedulerTest, CancelAfterExpiryButBeforeHandlerRunsWins) {
  boost::asio::io_context io;
  AsioScheduler sched(io);
  bool ran = false;
  TimerId t = sched.After(1ms, [&] { ran = true; });
  std::this_thread::sleep_for(5ms);  // let the timer expire; the loop has not run
  EXPECT_TRUE(sched.Cancel(t));
  io.run_for(20ms);
  EXPECT_FALSE(ran);
}

TEST(AsioSchedulerTest, CancelFromWithinACallbackAndAfterItRan) {
  boost::asio::io_context io;
  AsioScheduler sched(io);
  TimerId second = 0;
  bool second_ran = false;
  bool first_ran = false;
  TimerId first = sched.After(1ms, [&] {
    first_ran = true;
    EXPECT_TRUE(sched.Cancel(second));
  });
  second = sched.After(10ms, [&] { second_ran = true; });
  RunUntil(io, [&] { return first_ran; });
  io.run_for(20ms);
  EXPECT_FALSE(second_ran);
  EXPECT_FALSE(sched.Cancel(first));
}

TEST(AsioSchedulerTest, PostFromAnotherThread) {
  boost::asio::io_context io;
  AsioScheduler sched(io);
  std::atomic<int> count{0};
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) sched.Post([&] { count.fetch_add(1); });
  });
  poster.join();
  RunUntil(io, [&] { return count.load() == 100; });
  EXPECT_EQ(count.load(), 100);
}

TEST(AsioSchedulerTest, DestroyingTheSchedulerDropsItsTimers) {
  boost::asio::io_context io;
  bool ran = false;
  {
    AsioScheduler sched(io);
    sched.After(1ms, [&] { ran = true; });
  }
  io.run_for(20ms);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace keel::net
