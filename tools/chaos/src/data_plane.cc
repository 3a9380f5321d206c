#include "data_plane.h"

#include <boost/asio/post.hpp>
#include <future>

namespace keel::chaos {

DataPlane::DataPlane(int threads, std::uint64_t seed) {
  for (int i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(seed + static_cast<std::uint64_t>(i)));
  }
}

DataPlane::~DataPlane() { Stop(); }

void DataPlane::Start() {
  for (auto& w : workers_) {
    guards_.push_back(asio::make_work_guard(w->ctx));
    w->thread = std::thread([ctx = &w->ctx] { ctx->run(); });
  }
  running_ = true;
}

void DataPlane::Stop() {
  if (!running_.exchange(false)) return;
  for (auto& g : guards_) g.reset();
  // Anything still pending (timers of held-forever toxics) is abandoned.
  for (auto& w : workers_) asio::post(w->ctx, [ctx = &w->ctx] { ctx->stop(); });
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  guards_.clear();
}

Worker& DataPlane::Next() { return *workers_[next_.fetch_add(1) % workers_.size()]; }

void DataPlane::RunOn(Worker& worker, const std::function<void()>& fn) {
  if (!running_.load() || worker.ctx.get_executor().running_in_this_thread()) {
    fn();
    return;
  }
  std::promise<void> done;
  asio::post(worker.ctx, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace keel::chaos
