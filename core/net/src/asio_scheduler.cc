#include "keel/net/asio_scheduler.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <unordered_map>

namespace keel::net {

namespace asio = boost::asio;

struct AsioScheduler::State {
  struct Entry {
    std::unique_ptr<asio::steady_timer> timer;
    std::function<void()> fn;
  };
  TimerId next_id = 0;
  std::unordered_map<TimerId, Entry> timers;
};

AsioScheduler::AsioScheduler(asio::io_context& io) : io_(io), state_(std::make_shared<State>()) {}

AsioScheduler::~AsioScheduler() {
  for (auto& [id, entry] : state_->timers) entry.timer->cancel();
  state_->timers.clear();
}

const Clock& AsioScheduler::clock() const { return SystemClock::Default(); }

void AsioScheduler::Post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }

TimerId AsioScheduler::After(Clock::duration delay, std::function<void()> fn) {
  if (delay < Clock::duration::zero()) delay = Clock::duration::zero();
  TimerId id = ++state_->next_id;
  auto timer = std::make_unique<asio::steady_timer>(io_, delay);
  // A handler that completed just before Cancel() still runs with success:
  // the map, not the error code, says whether the timer is live.
  timer->async_wait([weak = std::weak_ptr<State>(state_), id](const boost::system::error_code&) {
    auto state = weak.lock();
    if (!state) return;
    auto it = state->timers.find(id);
    if (it == state->timers.end()) return;
    auto callback = std::move(it->second.fn);
    state->timers.erase(it);
    callback();
  });
  state_->timers.emplace(id, State::Entry{std::move(timer), std::move(fn)});
  return id;
}

bool AsioScheduler::Cancel(TimerId id) {
  auto it = state_->timers.find(id);
  if (it == state_->timers.end()) return false;
  it->second.timer->cancel();
  state_->timers.erase(it);
  return true;
}

std::size_t AsioScheduler::pending() const { return state_->timers.size(); }

}  // namespace keel::net
