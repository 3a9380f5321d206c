// The state shape shared by the sliding window and concurrency algorithms:
// counts for the current and the previous window of length P.
// expiry_ns = current window end + P, so the state fixes the windows' phase.
#pragma once

#include <cstdint>

#include "keel/ratelimit/state.h"

namespace keel::ratelimit {

struct TwoWindows {
  std::int64_t cur_end = 0;  // end of the current window
  std::uint64_t prev = 0;
  std::uint64_t cur = 0;

  // Rolls the stored windows forward to the window holding now_ns. A now_ns
  // older than the stored current window is treated as inside it. After both
  // windows are over, the next window is aligned to the clock's epoch, or
  // starts at now_ns when `restart_at_now`.
  static TwoWindows Load(const State& state, std::int64_t p, std::int64_t now_ns,
                         bool restart_at_now) {
    TwoWindows w;
    w.cur_end = state.expiry_ns - p;
    w.prev = state.word >> 32;
    w.cur = state.word & 0xffffffffULL;
    if (now_ns >= w.cur_end + p) {  // both windows are over
      w.cur_end = restart_at_now ? now_ns + p : (now_ns / p + 1) * p;
      w.prev = 0;
      w.cur = 0;
    } else if (now_ns >= w.cur_end) {  // the next window began
      w.cur_end += p;
      w.prev = w.cur;
      w.cur = 0;
    }
    return w;
  }

  void Store(State* state, std::int64_t p) const {
    state->expiry_ns = cur_end + p;
    state->word = (prev << 32) | cur;
  }
};

}  // namespace keel::ratelimit
