// The event loop of the worker thread a handler runs on, for handlers that
// start asynchronous work (timers, HttpClient calls) and answer later through
// their Responder (keel/net/router.h). Kept apart from http_message.h and
// router.h so that those stay free of Asio.
//
//   router.AddAsync(Method::kGet, "/slow", [](const Request&, Response& res, Responder r) {
//     auto shared = std::make_shared<Responder>(std::move(r));
//     CurrentScheduler().After(std::chrono::milliseconds(5), [&res, shared] {
//       res.body() = "late";
//       shared->Send();
//     });
//   });
//
// Thread-safety: REQUIRES: called on a worker thread of a running HttpServer
// (crashes otherwise). The returned objects belong to that thread.
#pragma once

#include "keel/base/scheduler.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace keel::net {

// True on a worker thread.
bool OnWorkerThread();
Scheduler& CurrentScheduler();
boost::asio::io_context& CurrentIoContext();

}  // namespace keel::net
