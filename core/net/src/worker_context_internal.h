// Set by Worker::Run on its thread (null, null to clear).
#pragma once

#include "keel/net/worker_context.h"

namespace keel::net {
void SetWorkerContext(Scheduler* scheduler, boost::asio::io_context* io);
}  // namespace keel::net
