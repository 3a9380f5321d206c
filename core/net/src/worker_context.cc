#include "keel/net/worker_context.h"

#include <cstdlib>

#include "worker_context_internal.h"

namespace keel::net {
namespace {
thread_local Scheduler* current_scheduler = nullptr;
thread_local boost::asio::io_context* current_io = nullptr;
}  // namespace

void SetWorkerContext(Scheduler* scheduler, boost::asio::io_context* io) {
  current_scheduler = scheduler;
  current_io = io;
}

bool OnWorkerThread() { return current_io != nullptr; }

Scheduler& CurrentScheduler() {
  if (current_scheduler == nullptr) std::abort();  // REQUIRES violated
  return *current_scheduler;
}

boost::asio::io_context& CurrentIoContext() {
  if (current_io == nullptr) std::abort();
  return *current_io;
}

}  // namespace keel::net
