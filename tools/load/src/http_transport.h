// HTTP/1.1 keep-alive transport: one slot per connection; requests rendered
// from LoadConfig::requests (cycled by sequence number).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "keel/load/request_template.h"
#include "transport.h"

namespace keel::load {

// `requests` must outlive the transport; `host_header` is the Host value.
std::unique_ptr<Transport> MakeHttpTransport(boost::asio::io_context& io, TransportEvents& events,
                                             const std::vector<RequestSpec>& requests,
                                             boost::asio::ip::tcp::endpoint endpoint,
                                             std::string host_header, int connections,
                                             std::uint64_t seed);

}  // namespace keel::load
