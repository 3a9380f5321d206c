// IoThread: an io_context run by a thread of its own, for tests that drive a
// client from the test's thread (ExecSync) while its loop runs elsewhere.
//
//   IoThread loop;
//   std::unique_ptr<Client> client;
//   loop.Run([&] { client = *Client::Create(loop.io(), options, registry); });
//   ... ExecSync(*client, {"PING"}) ...
//   loop.Run([&] { client.reset(); });   // destroy on the loop's thread
//
// Thread-safety: Run and io() from any thread but the loop's own.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <thread>

namespace keel::redis::testing {

class IoThread {
 public:
  IoThread();
  // Stops the loop (pending handlers are dropped) and joins the thread.
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& io() { return io_; }
  // Runs `fn` on the loop's thread and waits for it to return.
  void Run(const std::function<void()>& fn);

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace keel::redis::testing
