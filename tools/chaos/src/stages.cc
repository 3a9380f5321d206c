#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>

#include "keel/chaos/pacing.h"
#include "stage.h"

namespace keel::chaos {

namespace asio = boost::asio;

Stage::Stage(StageHost& host, std::shared_ptr<const ToxicEntry> entry)
    : host_(host), entry_(std::move(entry)),
      active_(SampleToxicity(entry_->spec.toxicity, host.rng())) {}

void Stage::Update(std::shared_ptr<const ToxicEntry> entry) {
  entry_ = std::move(entry);
  active_ = SampleToxicity(entry_->spec.toxicity, host_.rng());
}

namespace {

// A stage that releases chunks at due times, in FIFO order, with one timer.
// Timer handlers hold a weak token: a destroyed stage is never touched.
class TimedStage : public Stage {
 public:
  TimedStage(StageHost& host, std::shared_ptr<const ToxicEntry> entry)
      : Stage(host, std::move(entry)), timer_(host.context()) {}

  void Drain() override {
    timer_.cancel();
    while (!queue_.empty()) ReleaseFront();
  }

 protected:
  // Due times never go backwards, so order is kept whatever the jitter.
  void Schedule(Clock::time_point due, Chunk chunk) {
    if (due < last_due_) due = last_due_;
    last_due_ = due;
    queue_.push_back({due, std::move(chunk)});
    if (queue_.size() == 1) Arm();
  }
  // Passes a chunk through untouched, behind anything still held.
  void PassThrough(Chunk chunk) {
    if (queue_.empty()) {
      host_.Forward(this, std::move(chunk));
    } else {
      Schedule(last_due_, std::move(chunk));
    }
  }
  Clock::time_point last_due() const { return last_due_; }

 private:
  struct Held {
    Clock::time_point due;
    Chunk chunk;
  };
  void Arm() {
    timer_.expires_at(queue_.front().due);
    timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const auto& ec) {
      if (ec || alive.expired()) return;
      const auto now = Clock::now();
      while (!queue_.empty() && queue_.front().due <= now) ReleaseFront();
      if (!queue_.empty()) Arm();
    });
  }
  void ReleaseFront() {
    Chunk c = std::move(queue_.front().chunk);
    queue_.pop_front();
    host_.Forward(this, std::move(c));
  }

  std::shared_ptr<char> alive_ = std::make_shared<char>();
  asio::steady_timer timer_;
  std::deque<Held> queue_;
  Clock::time_point last_due_{};
};

// Each chunk leaves `latency ± jitter` after it was read: chunks overlap in
// flight, so throughput is kept. End markers are not delayed further.
class LatencyStage final : public TimedStage {
 public:
  using TimedStage::TimedStage;
  void Push(Chunk c) override {
    if (!active_ || c.end != End::kNone) return PassThrough(std::move(c));
    auto due = c.ts + LatencyDelay(attrs().latency, attrs().jitter, host_.rng());
    Schedule(due, std::move(c));
  }
};

// Releases each piece when the link would have finished sending it.
class BandwidthStage final : public TimedStage {
 public:
  using TimedStage::TimedStage;
  void Push(Chunk c) override {
    if (!active_ || attrs().rate <= 0 || c.end != End::kNone) return PassThrough(std::move(c));
    auto t = std::max(Clock::now(), last_due());
    auto pieces = BandwidthPieces(c.data.size(), attrs().rate);
    if (pieces.size() == 1) {
      const auto due = t + TransmitTime(c.data.size(), attrs().rate);  // before c is moved
      return Schedule(due, std::move(c));
    }
    std::size_t off = 0;
    for (std::size_t n : pieces) {
      t += TransmitTime(n, attrs().rate);
      Chunk piece{std::vector<char>(c.data.begin() + static_cast<std::ptrdiff_t>(off),
                                    c.data.begin() + static_cast<std::ptrdiff_t>(off + n)),
                  c.ts, End::kNone};
      off += n;
      Schedule(t, std::move(piece));
    }
  }
};

// Data passes; the close is held for `delay` ms.
class SlowCloseStage final : public TimedStage {
 public:
  using TimedStage::TimedStage;
  void Push(Chunk c) override {
    if (!active_ || c.end == End::kNone) return PassThrough(std::move(c));
    Schedule(Clock::now() + std::chrono::milliseconds(attrs().delay), std::move(c));
  }
};

// Splits each chunk into pieces with `delay` µs between them.
class SlicerStage final : public TimedStage {
 public:
  using TimedStage::TimedStage;
  void Push(Chunk c) override {
    if (!active_ || c.end != End::kNone) return PassThrough(std::move(c));
    const auto gap = std::chrono::microseconds(attrs().delay);
    auto t = std::max(Clock::now(), last_due() + gap);
    std::size_t off = 0;
    for (std::size_t n : SliceSizes(c.data.size(), attrs().average_size,
                                    attrs().size_variation, host_.rng())) {
      Chunk piece{std::vector<char>(c.data.begin() + static_cast<std::ptrdiff_t>(off),
                                    c.data.begin() + static_cast<std::ptrdiff_t>(off + n)),
                  c.ts, End::kNone};
      off += n;
      Schedule(t, std::move(piece));
      t += gap;
    }
  }
};

// Drops all data; closes the connection after `timeout` ms (never when 0).
// Removing it closes the connections it held, as Toxiproxy's Cleanup does:
// the bytes it dropped leave the stream unusable.
class TimeoutStage final : public Stage {
 public:
  TimeoutStage(StageHost& host, std::shared_ptr<const ToxicEntry> entry)
      : Stage(host, std::move(entry)), timer_(host.context()) {
    Arm();
  }
  void Update(std::shared_ptr<const ToxicEntry> entry) override {
    Stage::Update(std::move(entry));
    Arm();
  }
  void Push(Chunk c) override {
    if (!active_ || closed_) {
      if (closed_) return host_.Discard(c.data.size());
      return host_.Forward(this, std::move(c));
    }
    host_.Discard(c.data.size());
    if (c.end != End::kNone) Close();
  }
  void Drain() override {
    timer_.cancel();
    if (active_) host_.CloseNow();
  }

 private:
  void Arm() {
    timer_.cancel();
    if (!active_ || attrs().timeout <= 0) return;
    timer_.expires_after(std::chrono::milliseconds(attrs().timeout));
    timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const auto& ec) {
      if (ec || alive.expired()) return;
      Close();
    });
  }
  void Close() {
    if (closed_) return;
    closed_ = true;
    host_.Forward(this, Chunk{{}, Clock::now(), End::kClose});
  }
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  asio::steady_timer timer_;
  bool closed_ = false;
};

// On the first chunk (or close), waits `timeout` ms, then resets both peers
// (SO_LINGER 0). Data arriving meanwhile is dropped.
class ResetPeerStage final : public Stage {
 public:
  ResetPeerStage(StageHost& host, std::shared_ptr<const ToxicEntry> entry)
      : Stage(host, std::move(entry)), timer_(host.context()) {}
  void Push(Chunk c) override {
    if (!active_ && !armed_) return host_.Forward(this, std::move(c));
    host_.Discard(c.data.size());
    if (armed_) return;
    armed_ = true;
    timer_.expires_after(std::chrono::milliseconds(attrs().timeout));
    timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const auto& ec) {
      if (ec || alive.expired()) return;
      host_.ResetPeers();
    });
  }

 private:
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  asio::steady_timer timer_;
  bool armed_ = false;
};

// Lets `bytes` through in total (kept across updates), then closes.
class LimitDataStage final : public Stage {
 public:
  using Stage::Stage;
  void Push(Chunk c) override {
    if (!active_ && !closed_) return host_.Forward(this, std::move(c));
    if (closed_) return host_.Discard(c.data.size());
    if (c.end != End::kNone) return host_.Forward(this, std::move(c));
    const auto limit = static_cast<std::uint64_t>(attrs().bytes);
    const std::uint64_t left = limit > sent_ ? limit - sent_ : 0;
    if (c.data.size() > left) {
      host_.Discard(c.data.size() - left);
      c.data.resize(left);
    }
    sent_ += c.data.size();
    if (!c.data.empty()) host_.Forward(this, std::move(c));
    if (sent_ >= limit) {
      closed_ = true;
      host_.Forward(this, Chunk{{}, Clock::now(), End::kClose});
    }
  }

 private:
  std::uint64_t sent_ = 0;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<Stage> MakeStage(StageHost& host, std::shared_ptr<const ToxicEntry> entry) {
  switch (entry->spec.type) {
    case ToxicType::kLatency: return std::make_shared<LatencyStage>(host, std::move(entry));
    case ToxicType::kBandwidth: return std::make_shared<BandwidthStage>(host, std::move(entry));
    case ToxicType::kSlowClose: return std::make_shared<SlowCloseStage>(host, std::move(entry));
    case ToxicType::kTimeout: return std::make_shared<TimeoutStage>(host, std::move(entry));
    case ToxicType::kResetPeer: return std::make_shared<ResetPeerStage>(host, std::move(entry));
    case ToxicType::kSlicer: return std::make_shared<SlicerStage>(host, std::move(entry));
    case ToxicType::kLimitData: return std::make_shared<LimitDataStage>(host, std::move(entry));
  }
  return nullptr;
}

}  // namespace keel::chaos
