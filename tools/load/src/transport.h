// The engine's seam between scheduling and the wire. A Worker (one per load
// thread) owns the schedule, backlog, timeouts and counting; a Transport owns
// the connections and the protocol. Both run on the worker's io_context
// thread: every TransportEvents call happens there.
//
// A transport offers a fixed number of slots, each carrying at most one
// request at a time: an HTTP/1.1 keep-alive connection, or one gRPC call
// (many slots share a channel). The worker only sends on a slot the
// transport reported ready.
#pragma once

#include <chrono>
#include <cstdint>

#include "keel/load/run_result.h"

namespace keel::load {

using Clock = std::chrono::steady_clock;

// How a request ended.
struct Outcome {
  enum class Kind { kOk, kOverLimit, kError };
  Kind kind = Kind::kOk;
  ErrorKind error = ErrorKind::kRead;  // when kError
  bool answered = false;   // kError that is an answer (HTTP 4xx/5xx): completed, latency recorded
  int status = 0;          // HTTP: the answer's status; 0 without one, and for rls://
  Clock::time_point at;    // when the answer or the failure arrived
};

// What a slot can do after its request ended.
enum class Next {
  kReady,     // take the next request now
  kWriting,   // busy until OnReady (HTTP: answered before the request was fully written)
  kNotReady,  // reconnecting or pausing; OnReady follows
};

class TransportEvents {
 public:
  virtual void OnReady(int slot) = 0;  // the slot can take a request
  virtual void OnLost(int slot) = 0;   // an idle slot's connection dropped; OnReady follows
  virtual void OnDone(int slot, const Outcome& outcome, Next next) = 0;
  // A connection attempt failed. Returns whether it was counted as an error
  // (not before measurement, not once stopped), so that an outage counts once.
  virtual bool OnConnectFailed() = 0;

 protected:
  ~TransportEvents() = default;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int slots() const = 0;
  // Opens connections; OnReady reports each usable slot.
  virtual void Start() = 0;
  // Sends request number `seq`. REQUIRES: the slot is ready. May call
  // OnDone before returning (a write that failed at once).
  virtual void Send(int slot, std::uint64_t seq) = 0;
  // The slot's request timed out (the worker counted it): abandon it.
  // Outcomes reported for it later are not counted; OnReady or OnDone with
  // Next::kReady tells when the slot is usable again.
  virtual void Cancel(int slot) = 0;
  // Abandons everything in flight; no further events are delivered.
  virtual void Stop() = 0;
};

}  // namespace keel::load
