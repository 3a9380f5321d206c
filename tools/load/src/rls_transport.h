// gRPC transport for rls:// targets: Envoy RLS v3 ShouldRateLimit calls over
// `channels` HTTP/2 connections, `calls_per_channel` slots each (calls in
// flight at once). gRPC stays in rls_transport.cc: this header has no gRPC types.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "keel/base/units.h"
#include "keel/load/rls_request.h"
#include "transport.h"

namespace keel::load {

// `spec` must outlive the transport; `target` is a gRPC target such as
// "ipv4:127.0.0.1:8081". The io_context must allow posting from other
// threads (not BOOST_ASIO_CONCURRENCY_HINT_UNSAFE): answers arrive on gRPC's
// threads and are handed to the io_context's thread.
std::unique_ptr<Transport> MakeRlsTransport(boost::asio::io_context& io, TransportEvents& events,
                                            const RlsRequestSpec& spec, const std::string& target,
                                            int channels, int calls_per_channel, Duration timeout,
                                            std::uint64_t seed);

}  // namespace keel::load
