#include "grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "admin_grpc.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "proto_mapping.h"

namespace keel::ratelimit {
namespace {

using envoy::service::ratelimit::v3::RateLimitService;

class RlsService final : public RateLimitService::Service {
 public:
  explicit RlsService(Decider& decider) : decider_(decider) {}

  grpc::Status ShouldRateLimit(grpc::ServerContext*, const RlsRequest* request, RlsResponse* response) override {
    // One input per gRPC thread, reused: the decision path allocates only
    // what growing these vectors past their high-water mark needs.
    thread_local RateLimitInput input;
    thread_local RateLimitOutput output;
    Status st = FromProto(*request, &input);
    if (!st.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, st.message());
    st = decider_.Decide(input, &output);
    if (!st.ok()) {
      const auto code = st.code() == StatusCode::kInvalidArgument ? grpc::StatusCode::INVALID_ARGUMENT
                                                                  : grpc::StatusCode::UNAVAILABLE;
      return grpc::Status(code, st.message());
    }
    ToProto(output, response);
    output.config.reset();
    return grpc::Status::OK;
  }

 private:
  Decider& decider_;
};

}  // namespace

struct GrpcServer::Impl {
  explicit Impl(Decider& d) : service(d) {}
  RlsService service;
  std::unique_ptr<grpc::Service> admin;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Shutdown(std::chrono::seconds(0)); }

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const std::string& address, Decider& decider,
                                                        Admin* admin) {
  auto impl = std::make_unique<Impl>(decider);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &impl->port);
  builder.RegisterService(&impl->service);
  if (admin) {
    impl->admin = NewAdminGrpcService(*admin);
    builder.RegisterService(impl->admin.get());
  }
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0) return Unavailable("gRPC: cannot listen on " + address);
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

int GrpcServer::port() const { return impl_->port; }

void GrpcServer::Shutdown(Duration deadline) {
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(deadline));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace keel::ratelimit
