// Toxic stages driven by a fake pipe: chain order, held data on removal,
// latency overlap. Timers run on a real io_context; no sockets.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "stage.h"

namespace keel::chaos {
namespace {

using std::chrono::milliseconds;

class FakePipe : public StageHost {
 public:
  // Builds a chain of the given toxics, in order (all toxicity 1).
  explicit FakePipe(const std::vector<ToxicSpec>& specs) {
    std::uint64_t id = 1;
    for (const auto& s : specs) {
      chain_.push_back(MakeStage(*this, std::make_shared<const ToxicEntry>(ToxicEntry{id++, s})));
    }
  }
  void Enter(const std::string& data, End marker = End::kNone) {
    Chunk c{std::vector<char>(data.begin(), data.end()), Clock::now(), marker};
    if (chain_.empty()) return Deliver(std::move(c));
    chain_.front()->Push(std::move(c));
  }
  void Remove(std::size_t i) {
    auto stage = chain_[i];
    stage->Drain();
    chain_.erase(chain_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  void Forward(const Stage* from, Chunk chunk) override {
    for (std::size_t i = 0; i < chain_.size(); ++i) {
      if (chain_[i].get() != from) continue;
      if (i + 1 < chain_.size()) return chain_[i + 1]->Push(std::move(chunk));
      return Deliver(std::move(chunk));
    }
  }
  void Discard(std::size_t bytes) override { discarded += bytes; }
  void ResetPeers() override { reset = true; }
  void CloseNow() override { closed_now = true; }
  boost::asio::io_context& context() override { return ctx; }
  Rng& rng() override { return rng_; }

  boost::asio::io_context ctx;
  std::vector<std::string> pieces;
  std::vector<Clock::time_point> times;
  End end = End::kNone;
  std::size_t discarded = 0;
  bool reset = false;
  bool closed_now = false;

 private:
  void Deliver(Chunk c) {
    if (c.end != End::kNone) {
      end = c.end;
      return;
    }
    pieces.emplace_back(c.data.begin(), c.data.end());
    times.push_back(Clock::now());
  }
  Rng rng_{1};
  std::vector<std::shared_ptr<Stage>> chain_;
};

ToxicSpec Toxic(ToxicType type, ToxicAttributes a) {
  ToxicSpec s;
  s.type = type;
  s.attributes = a;
  return s;
}

ToxicSpec Limit(std::int64_t bytes) { return Toxic(ToxicType::kLimitData, {.bytes = bytes}); }
ToxicSpec Slicer(std::int64_t avg) {
  return Toxic(ToxicType::kSlicer, {.delay = 0, .average_size = avg, .size_variation = 0});
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s;
  return out;
}

TEST(ChaosStageTest, ChainAppliesToxicsInCreationOrder) {
  FakePipe limit_first({Limit(6), Slicer(2)});
  limit_first.Enter("abcdefgh");
  limit_first.ctx.run();
  EXPECT_EQ(limit_first.pieces, (std::vector<std::string>{"a", "bc", "d", "ef"}));
  EXPECT_EQ(limit_first.end, End::kClose);

  FakePipe slicer_first({Slicer(2), Limit(6)});
  slicer_first.Enter("abcdefgh");
  slicer_first.ctx.run();
  EXPECT_EQ(slicer_first.pieces, (std::vector<std::string>{"ab", "cd", "ef"}));
  EXPECT_EQ(slicer_first.end, End::kClose);
  EXPECT_EQ(slicer_first.discarded, 2u);
}

TEST(ChaosStageTest, LatencyDelaysEachChunkWithoutSerializing) {
  FakePipe pipe({Toxic(ToxicType::kLatency, {.latency = 50})});
  const auto start = Clock::now();
  for (const char* s : {"a", "b", "c", "d"}) pipe.Enter(s);
  pipe.Enter("", End::kEof);
  pipe.ctx.run();
  EXPECT_EQ(pipe.pieces, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(pipe.end, End::kEof);
  EXPECT_GE(pipe.times.front() - start, milliseconds(50));
  EXPECT_LT(pipe.times.back() - start, milliseconds(150));  // not 4 x 50 ms
}

TEST(ChaosStageTest, RemovedStageHandsOnHeldDataInOrder) {
  FakePipe pipe({Toxic(ToxicType::kLatency, {.latency = 10000})});
  pipe.Enter("held1");
  pipe.Enter("held2");
  EXPECT_TRUE(pipe.pieces.empty());
  pipe.Remove(0);
  pipe.ctx.run();
  EXPECT_EQ(pipe.pieces, (std::vector<std::string>{"held1", "held2"}));
}

TEST(ChaosStageTest, TimeoutDropsDataAndRemovalClosesHeldConnection) {
  FakePipe pipe({Toxic(ToxicType::kTimeout, {.timeout = 0})});
  pipe.Enter("lost");
  EXPECT_TRUE(pipe.pieces.empty());
  EXPECT_EQ(pipe.discarded, 4u);
  pipe.Remove(0);
  EXPECT_TRUE(pipe.closed_now);
}

TEST(ChaosStageTest, TimeoutClosesAfterItsDelay) {
  const auto start = Clock::now();  // the timer starts with the stage
  FakePipe pipe({Toxic(ToxicType::kTimeout, {.timeout = 20})});
  pipe.ctx.run();
  EXPECT_EQ(pipe.end, End::kClose);
  EXPECT_GE(Clock::now() - start, milliseconds(20));
}

TEST(ChaosStageTest, ResetPeerFiresAfterFirstData) {
  FakePipe pipe({Toxic(ToxicType::kResetPeer, {.timeout = 10})});
  pipe.ctx.run();
  EXPECT_FALSE(pipe.reset);  // no data yet: nothing armed
  pipe.ctx.restart();
  pipe.Enter("x");
  pipe.ctx.run();
  EXPECT_TRUE(pipe.reset);
  EXPECT_TRUE(pipe.pieces.empty());
}

TEST(ChaosStageTest, SlowCloseHoldsOnlyTheClose) {
  FakePipe pipe({Toxic(ToxicType::kSlowClose, {.delay = 30})});
  const auto start = Clock::now();
  pipe.Enter("data");
  EXPECT_EQ(pipe.pieces, (std::vector<std::string>{"data"}));
  pipe.Enter("", End::kEof);
  EXPECT_EQ(pipe.end, End::kNone);
  pipe.ctx.run();
  EXPECT_EQ(pipe.end, End::kEof);
  EXPECT_GE(Clock::now() - start, milliseconds(30));
}

TEST(ChaosStageTest, BandwidthReleasesAtConfiguredRate) {
  FakePipe pipe({Toxic(ToxicType::kBandwidth, {.rate = 100})});  // 100 KB/s
  const auto start = Clock::now();
  pipe.Enter(std::string(15000, 'x'));  // 150 ms at 100 KB/s, in 100 ms pieces
  pipe.ctx.run();
  EXPECT_EQ(Joined(pipe.pieces).size(), 15000u);
  EXPECT_EQ(pipe.pieces.size(), 2u);
  const auto took = Clock::now() - start;
  EXPECT_GE(took, milliseconds(150));
  EXPECT_LT(took, milliseconds(250));
}

TEST(ChaosStageTest, BandwidthPacesChunksSmallerThanOnePiece) {
  FakePipe pipe({Toxic(ToxicType::kBandwidth, {.rate = 100})});
  const auto start = Clock::now();
  for (int i = 0; i < 4; ++i) pipe.Enter(std::string(2500, 'x'));  // 4 x 25 ms
  pipe.ctx.run();
  EXPECT_EQ(pipe.pieces.size(), 4u);
  EXPECT_GE(pipe.times.back() - start, milliseconds(100));
  EXPECT_GE(pipe.times.front() - start, milliseconds(25));
}

}  // namespace
}  // namespace keel::chaos
