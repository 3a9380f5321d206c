// Envoy RLS v3 messages <-> the transport-independent decision types.
// Private to the rate limiter (pulls in generated protobuf headers).
#pragma once

#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "keel/ratelimit/rls_types.h"

namespace keel::ratelimit {

using RlsRequest = envoy::service::ratelimit::v3::RateLimitRequest;
using RlsResponse = envoy::service::ratelimit::v3::RateLimitResponse;

// Views into `request`; it must outlive `input`. Errors: InvalidArgument for
// an empty domain, no descriptors, a descriptor without entries, or an
// override with unit UNKNOWN.
Status FromProto(const RlsRequest& request, RateLimitInput* input);

void ToProto(const RateLimitOutput& output, RlsResponse* response);

}  // namespace keel::ratelimit
