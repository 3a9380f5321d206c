#include "rls_transport.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"

namespace keel::load {
namespace {

namespace asio = boost::asio;
using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;

// After UNAVAILABLE a slot pauses this long, as an HTTP connection waits
// before reconnecting, so a closed loop does not spin on a dead server.
constexpr auto kUnavailablePause = std::chrono::milliseconds(10);

Outcome ToOutcome(const grpc::Status& status, const RateLimitResponse& response) {
  Outcome o;
  o.at = Clock::now();
  if (status.ok()) {
    switch (response.overall_code()) {
      case RateLimitResponse::OK:
        return o;
      case RateLimitResponse::OVER_LIMIT:
        o.kind = Outcome::Kind::kOverLimit;
        return o;
      default:
        break;  // UNKNOWN: not a valid answer
    }
  }
  o.kind = Outcome::Kind::kError;
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      o.error = ErrorKind::kTimeout;
      break;
    case grpc::StatusCode::UNAVAILABLE:
      o.error = ErrorKind::kUnavailable;
      break;
    default:
      o.error = ErrorKind::kGrpcStatus;
  }
  return o;
}

class RlsTransport final : public Transport {
 public:
  RlsTransport(asio::io_context& io, TransportEvents& events, const RlsRequestSpec& spec,
               const std::string& target, int channels, int calls_per_channel, Duration timeout,
               std::uint64_t seed)
      : io_(io), events_(events), timeout_(timeout), rng_(seed) {
    for (int i = 0; i < channels; ++i) {
      grpc::ChannelArguments args;
      // Distinct arguments and a local subchannel pool: each channel gets
      // its own HTTP/2 connection instead of sharing one.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("keel.load.channel", i);
      args.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);  // per-call bookkeeping nobody reads here
      auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
      channel->GetState(/*try_to_connect=*/true);
      stubs_.push_back(RateLimitService::NewStub(channel));
    }
    const int n = channels * calls_per_channel;
    for (int i = 0; i < n; ++i) {
      auto call = std::make_unique<Call>(io);
      RateLimitRequest& req = call->request;
      req.set_domain(spec.domain);
      if (spec.hits_addend > 0) req.set_hits_addend(spec.hits_addend);
      for (const RlsDescriptor& d : spec.descriptors) {
        auto* pd = req.add_descriptors();
        for (const RlsEntry& e : d) {
          auto* pe = pd->add_entries();
          pe->set_key(e.key);
          if (e.value.is_static()) {
            std::string v;
            e.value.Render(TemplateContext{0, &rng_}, &v);
            pe->set_value(v);
          } else {
            call->templated.push_back({pe->mutable_value(), &e.value});
          }
        }
      }
      calls_.push_back(std::move(call));
    }
  }

  ~RlsTransport() override {
    Stop();
    // gRPC's threads still hold pointers to calls in flight.
    std::unique_lock<std::mutex> lock(mu_);
    drained_.wait(lock, [this] { return in_flight_ == 0; });
  }

  int slots() const override { return static_cast<int>(calls_.size()); }

  void Start() override {
    for (int i = 0; i < slots(); ++i) events_.OnReady(i);
  }

  void Send(int slot, std::uint64_t seq) override {
    Call& c = *calls_[static_cast<std::size_t>(slot)];
    const TemplateContext ctx{seq, &rng_};
    for (auto& [value, tmpl] : c.templated) {
      value->clear();
      tmpl->Render(ctx, value);
    }
    c.response.Clear();
    c.context.emplace();
    c.context->set_deadline(std::chrono::system_clock::now() +
                            std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout_));
    c.in_flight = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++in_flight_;
    }
    auto& stub = stubs_[next_channel_++ % stubs_.size()];
    stub->async()->ShouldRateLimit(&*c.context, &c.request, &c.response,
                                   [this, slot](grpc::Status status) { OnCallDone(slot, status); });
  }

  void Cancel(int slot) override {
    Call& c = *calls_[static_cast<std::size_t>(slot)];
    if (c.in_flight) c.context->TryCancel();  // OnDone follows, with CANCELLED
  }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    for (auto& c : calls_) {
      if (c->in_flight) c->context->TryCancel();
      c->pause.cancel();
    }
  }

 private:
  struct Call {
    explicit Call(asio::io_context& io) : pause(io) {}
    RateLimitRequest request;  // reused: only templated values change
    RateLimitResponse response;
    std::optional<grpc::ClientContext> context;  // one per call, as gRPC requires
    std::vector<std::pair<std::string*, const Template*>> templated;  // values rendered per call
    asio::steady_timer pause;
    bool in_flight = false;  // on the worker thread: sent, outcome not yet delivered
  };

  // On a gRPC thread: the call is finished, so its response may be read here.
  void OnCallDone(int slot, const grpc::Status& status) {
    const Outcome o = ToOutcome(status, calls_[static_cast<std::size_t>(slot)]->response);
    asio::post(io_, [this, slot, o] { Deliver(slot, o); });
    std::lock_guard<std::mutex> lock(mu_);
    if (--in_flight_ == 0) drained_.notify_all();
  }

  void Deliver(int slot, const Outcome& o) {
    Call& c = *calls_[static_cast<std::size_t>(slot)];
    c.in_flight = false;
    if (stopped_) return;
    if (o.kind == Outcome::Kind::kError && o.error == ErrorKind::kUnavailable) {
      events_.OnDone(slot, o, Next::kNotReady);
      c.pause.expires_after(kUnavailablePause);
      c.pause.async_wait([this, slot](const boost::system::error_code& ec) {
        if (!ec && !stopped_) events_.OnReady(slot);
      });
      return;
    }
    events_.OnDone(slot, o, Next::kReady);
  }

  asio::io_context& io_;
  TransportEvents& events_;
  const Duration timeout_;
  Rng rng_;
  std::vector<std::unique_ptr<RateLimitService::Stub>> stubs_;
  std::vector<std::unique_ptr<Call>> calls_;
  std::size_t next_channel_ = 0;
  bool stopped_ = false;
  std::mutex mu_;
  std::condition_variable drained_;
  int in_flight_ = 0;  // guarded by mu_: calls gRPC has not finished with
};

}  // namespace

std::unique_ptr<Transport> MakeRlsTransport(asio::io_context& io, TransportEvents& events,
                                            const RlsRequestSpec& spec, const std::string& target,
                                            int channels, int calls_per_channel, Duration timeout,
                                            std::uint64_t seed) {
  // gRPC's locks are absl::Mutex, and Debian's abseil leaves deadlock
  // detection on: in a profile of a closed-loop run it cost ~7 % of the load
  // core (GraphCycles). The generator's own locking does not use absl.
  static std::once_flag once;
  std::call_once(once, [] { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); });
  return std::make_unique<RlsTransport>(io, events, spec, target, channels, calls_per_channel,
                                        timeout, seed);
}

}  // namespace keel::load
