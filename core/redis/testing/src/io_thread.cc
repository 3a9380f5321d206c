#include "keel/redis/testing/io_thread.h"

#include <boost/asio/post.hpp>
#include <future>

namespace keel::redis::testing {

IoThread::IoThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}

IoThread::~IoThread() {
  work_.reset();
  io_.stop();
  thread_.join();
}

void IoThread::Run(const std::function<void()>& fn) {
  std::promise<void> done;
  boost::asio::post(io_, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace keel::redis::testing
