// The rate limiter's admin API over gRPC: keel.ratelimit.admin.v1.RateLimitAdmin
// (api/keel/ratelimit/admin/v1/admin.proto) on the Admin core (admin.h),
// served by GrpcServer beside Envoy's RateLimitService. Every call reads the
// `authorization` metadata ("Bearer <token>"): UNAUTHENTICATED when missing
// or wrong, UNIMPLEMENTED while the admin API is disabled; other errors map
// as admin.h lists.
//
// Thread-safety: called from gRPC's threads concurrently. REQUIRES: the
// Admin outlives the service.
#pragma once

#include <memory>

#include "admin.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace keel::ratelimit {

std::unique_ptr<grpc::Service> NewAdminGrpcService(Admin& admin);

}  // namespace keel::ratelimit
