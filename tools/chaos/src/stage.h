// A toxic stage: one toxic applied to one direction of one connection.
//
// A pipe pushes chunks (data, or an end marker) into its first stage; each
// stage forwards what it lets through to the next through its host, the last
// one to the socket writer. Stages run on their connection's worker thread
// only. A stage that holds data (latency, bandwidth, slicer, slow_close) keeps
// it in FIFO order with one timer; Drain() hands it on at once when the toxic
// is removed, so no data is lost (as in Toxiproxy).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "keel/base/rng.h"
#include "keel/chaos/toxic.h"

namespace keel::chaos {

using Clock = std::chrono::steady_clock;

// kEof: half-close the destination once everything before it is written.
// kClose: close the whole connection once everything before it is written.
enum class End : std::uint8_t { kNone, kEof, kClose };

struct Chunk {
  std::vector<char> data;
  Clock::time_point ts;  // when it was read
  End end = End::kNone;
};

// One toxic as configured; an update makes a new entry with the same id.
struct ToxicEntry {
  std::uint64_t id = 0;
  ToxicSpec spec;
};

class Stage;

// What a stage may do to its pipe and connection (implemented by Pipe).
class StageHost {
 public:
  virtual ~StageHost() = default;
  virtual void Forward(const Stage* from, Chunk chunk) = 0;
  virtual void Discard(std::size_t bytes) = 0;  // bytes a stage dropped
  virtual void ResetPeers() = 0;                // RST both sides now
  virtual void CloseNow() = 0;                  // close both sides now
  virtual boost::asio::io_context& context() = 0;
  virtual Rng& rng() = 0;
};

class Stage {
 public:
  Stage(StageHost& host, std::shared_ptr<const ToxicEntry> entry);
  virtual ~Stage() = default;

  virtual void Push(Chunk chunk) = 0;
  // The toxic was updated: new attributes; toxicity is sampled again.
  virtual void Update(std::shared_ptr<const ToxicEntry> entry);
  // The toxic is being removed: hand on what is held, stop timers.
  virtual void Drain() {}

  const std::shared_ptr<const ToxicEntry>& entry() const { return entry_; }
  bool active() const { return active_; }

 protected:
  const ToxicAttributes& attrs() const { return entry_->spec.attributes; }
  StageHost& host_;
  std::shared_ptr<const ToxicEntry> entry_;
  bool active_;
};

// Creates the stage for an entry's toxic type.
std::shared_ptr<Stage> MakeStage(StageHost& host, std::shared_ptr<const ToxicEntry> entry);

}  // namespace keel::chaos
