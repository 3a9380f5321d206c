// What `keel load rls://HOST:PORT` sends: Envoy RLS v3 ShouldRateLimit
// requests with a domain and descriptors whose values are Templates.
//
//   auto d = ParseDescriptor("k=v,user={{zipf:1.1:100000}}");
//   RlsRequestSpec spec{.domain = "api", .descriptors = {std::move(*d)}};
//
// Plain data with no gRPC types, so that users of keel/load headers need no
// gRPC headers; the gRPC client lives in the engine's private sources.
// Thread-safety: immutable after parsing; shared by all load threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/load/request_template.h"

namespace keel::load {

struct RlsEntry {
  std::string key;
  Template value;  // rendered for every request
};

// One RateLimitDescriptor: its entries in order.
using RlsDescriptor = std::vector<RlsEntry>;

struct RlsRequestSpec {
  std::string domain;                       // RateLimitRequest.domain, not empty
  std::vector<RlsDescriptor> descriptors;   // at least one
  std::uint32_t hits_addend = 0;            // 0: the field is unset (the server counts 1)
};

// Parses one --descriptor flag: comma-separated `key=value` entries; the
// value is everything after the first '=' (it may be empty) and may hold
// placeholders. Errors: InvalidArgument naming the bad entry or placeholder.
StatusOr<RlsDescriptor> ParseDescriptor(std::string_view text);

}  // namespace keel::load
