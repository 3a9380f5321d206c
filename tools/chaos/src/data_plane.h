// The proxies' event loops: N workers, each an io_context run by one thread,
// with its own Rng. A connection lives on one worker for its whole life, so
// its sockets, pipes and toxic stages are only touched from that thread.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "keel/base/rng.h"

namespace keel::chaos {

namespace asio = boost::asio;

struct Worker {
  explicit Worker(std::uint64_t seed) : rng(seed) {}
  asio::io_context ctx{1};
  Rng rng;  // used only on this worker's thread
  std::thread thread;
};

class DataPlane {
 public:
  DataPlane(int threads, std::uint64_t seed);
  ~DataPlane();  // Stop()
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  void Start();
  // Lets the loops finish what is queued, then stops and joins them.
  void Stop();
  // Round-robin choice for a new connection or listener; thread-safe.
  Worker& Next();
  // Runs fn on the worker's thread and waits (inline when called from it,
  // or when the loops are not running).
  void RunOn(Worker& worker, const std::function<void()>& fn);

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> running_{false};
};

}  // namespace keel::chaos
