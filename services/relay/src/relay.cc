#include "relay.h"

#include <chrono>
#include <optional>
#include <utility>

#include "keel/base/clock.h"
#include "keel/net/http_client.h"
#include "keel/net/worker_context.h"
#include "keel/resilience/deadline.h"
#include "keel/resilience/latency_tracker.h"
#include "keel/trace/tracer.h"

namespace keel::relay {

using resilience::Outcome;

namespace {

// One client per worker thread: a worker's event loop owns its pools. The
// thread_local dies at the worker thread's exit, while its io_context (owned
// by the server) still exists.
net::HttpClient& WorkerClient(const RelayOptions& options, obs::Registry& registry) {
  thread_local std::unique_ptr<net::HttpClient> client;
  if (!client) {
    net::HttpClientOptions o;
    o.max_connections_per_upstream = static_cast<std::size_t>(options.max_connections);
    o.max_idle_per_upstream = options.keep_alive ? o.max_connections_per_upstream : 0;
    auto created = net::HttpClient::Create(net::CurrentIoContext(), o, registry);
    // Create() fails only on invalid options, which are fixed above.
    client = std::move(*created);
  }
  return *client;
}

bool Idempotent(const net::Request& req) {
  switch (req.method) {
    case net::Method::kGet:
    case net::Method::kHead:
    case net::Method::kPut:
    case net::Method::kDelete:
    case net::Method::kOptions:
      return true;
    default:
      return !req.header("idempotency-key").empty();
  }
}

// Which upstream answers are failures the breaker and the retries act on.
Outcome::Kind Classify(const net::ClientResponse& r, bool idempotent) {
  if (r.timed_out) return Outcome::kTimeout;
  if (!r.status.ok()) {
    // A reset after the request was written may have run it: only an
    // idempotent request may go again.
    return (r.retryable || idempotent) ? Outcome::kFailure : Outcome::kFatal;
  }
  if (r.http_status == 502 || r.http_status == 503 || r.http_status == 504) {
    return Outcome::kFailure;
  }
  if (r.http_status >= 500) return Outcome::kFatal;
  return Outcome::kSuccess;  // 4xx is the caller's answer, not an upstream failure
}

}  // namespace

// What outlives the handler call: the copied request, the last upstream
// answer and the Responder.
struct Relay::Call {
  net::Method method;
  std::string target;
  std::string body;
  std::string content_type;
  obs::TraceContext trace;
  Clock::time_point start;
  std::optional<net::ClientResponse> last;  // the answer of the attempt that decided
  net::Response* res = nullptr;
  net::Responder responder;
  resilience::LatencyTracker* latency = nullptr;
  // Completed when the answer is sent: its RTT feeds the adaptive limit.
  std::optional<resilience::AdaptiveLimiter::Token> admitted;
};

StatusOr<std::unique_ptr<Relay>> Relay::Create(RelayOptions options,
                                               resilience::PipelineOptions pipeline,
                                               obs::Registry& registry) {
  if (options.upstream.empty()) {
    return InvalidArgument("relay.upstream: required (HOST:PORT of the upstream)");
  }
  if (options.max_connections < 1) {
    return InvalidArgument("relay.max_connections: must be at least 1");
  }
  resilience::LatencyTrackerOptions tracker_options;
  tracker_options.recompute_every = 100;
  auto latency = std::make_unique<resilience::LatencyTracker>(SystemClock::Default(),
                                                              tracker_options);
  if (pipeline.hedge.enabled) {
    const double q = pipeline.hedge.percentile / 100.0;
    resilience::LatencyTracker* t = latency.get();
    pipeline.hedge.delay = [t, q] { return t->Percentile(q); };
  }
  auto p = resilience::Pipeline::Create(std::move(pipeline), SystemClock::Default(), registry,
                                        "upstream");
  if (!p.ok()) return p.status();
  auto& family = registry.AddHistogram("keel_relay_request_duration_seconds",
                                       "Relayed calls, from the request to the answer sent, by result.",
                                       {"result"});
  Metrics m{family.Get({"ok"}), family.Get({"rejected"}), family.Get({"timeout"}),
            family.Get({"failed"})};
  std::unique_ptr<resilience::LoadShedder> shedder;
  if (options.admission.enabled) {
    auto created = resilience::LoadShedder::Create(options.admission.shedder,
                                                   SystemClock::Default(), registry);
    if (!created.ok()) return created.status();
    shedder = std::move(*created);
  }
  return std::unique_ptr<Relay>(new Relay(std::move(options), std::move(latency), std::move(*p),
                                          std::move(shedder), m, registry));
}

Relay::Relay(RelayOptions options, std::unique_ptr<resilience::LatencyTracker> latency,
             std::unique_ptr<resilience::Pipeline> pipeline,
             std::unique_ptr<resilience::LoadShedder> shedder, Metrics metrics,
             obs::Registry& registry)
    : options_(std::move(options)), latency_(std::move(latency)),
      pipeline_(std::move(pipeline)), shedder_(std::move(shedder)), metrics_(metrics),
      registry_(registry) {}

Relay::~Relay() = default;

void Relay::Handle(const net::Request& req, net::Response& res, net::Responder responder) {
  std::optional<resilience::AdaptiveLimiter::Token> admitted;
  if (shedder_) {
    admitted = shedder_->TryAdmit(
        resilience::ParsePriority(req.header(resilience::kPriorityHeader)));
    if (!admitted) {
      res.SetError(503, "overloaded: shed by admission control");
      res.add_header("Retry-After",
                     std::to_string(resilience::RetryAfterSeconds(shedder_->RetryAfter())));
      metrics_.rejected->Observe(0);
      responder.Send();
      return;
    }
  }
  auto call = std::make_shared<Call>();
  if (admitted) call->admitted.emplace(std::move(*admitted));
  call->method = req.method;
  call->target.reserve(req.path.size() + req.query.size() + 1);
  // /relay/{path} -> /{path}
  call->target.assign(req.path.substr(std::string_view("/relay").size()));
  if (!req.query.empty()) call->target.append("?").append(req.query);
  call->body.assign(req.body);
  call->content_type.assign(req.header("content-type"));
  call->trace = req.trace;
  call->start = SystemClock::Default().Now();
  call->res = &res;
  call->responder = std::move(responder);
  call->latency = latency_.get();

  resilience::CallOptions call_options;
  call_options.idempotent = Idempotent(req);
  // The pipeline caps the deadline at relay.timeout.total; the caller's
  // budget, when it sent one, may make it sooner.
  if (auto budget = resilience::ParseTimeoutHeader(req.header(resilience::kTimeoutHeader))) {
    call_options.deadline = resilience::Deadline::After(call->start, *budget);
  }
  const bool idempotent = call_options.idempotent;
  net::HttpClient& client = WorkerClient(options_, registry_);
  const RelayOptions& options = options_;

  auto attempt = [call, &client, &options, idempotent](
                     const resilience::AttemptContext& ctx,
                     std::function<void(Outcome)> done) -> resilience::CancelFn {
    net::ClientRequest creq;
    creq.upstream = options.upstream;
    creq.method = call->method;
    creq.target = call->target;
    creq.body = call->body;
    if (!call->content_type.empty()) creq.headers.emplace_back("Content-Type", call->content_type);
    creq.deadline = ctx.deadline.when();
    creq.send_timeout_header = true;
    std::optional<trace::Span> span;
    if (options.tracer != nullptr) {
      span = options.tracer->StartClientSpan(call->trace, "GET");
      creq.trace = span->context();
    } else {
      creq.trace = call->trace;
    }
    auto span_ptr = std::make_shared<std::optional<trace::Span>>(std::move(span));
    resilience::LatencyTracker* latency = ctx.is_hedge ? nullptr : call->latency;
    const Clock::time_point sent = SystemClock::Default().Now();
    trace::Tracer* tracer = options.tracer;
    net::RequestId id = client.Send(
        std::move(creq), [call, done, idempotent, span_ptr, tracer, latency, sent,
                          &options](net::ClientResponse r) {
          Outcome::Kind kind = Classify(r, idempotent);
          // The hedge waits for a percentile of first attempts' latency.
          if (latency != nullptr && kind == Outcome::kSuccess) {
            latency->Record(SystemClock::Default().Now() - sent);
          }
          if (span_ptr->has_value()) {
            trace::Span& s = **span_ptr;
            s.SetAttribute("server.address", options.upstream);
            if (r.http_status != 0) s.SetAttribute("http.response.status_code", r.http_status);
            if (kind != Outcome::kSuccess) {
              s.SetStatus(trace::SpanStatus::kError,
                          r.status.ok() ? std::string_view("upstream status") : r.status.message());
            }
            tracer->End(std::move(s));
          }
          call->last = std::move(r);
          done(Outcome{kind, {}});
        });
    return [&client, id] { client.Cancel(id); };
  };

  Metrics metrics = metrics_;
  pipeline_->Call(net::CurrentScheduler(), call_options, std::move(attempt),
                  [call, metrics](const Outcome& outcome, const resilience::CallStats&) {
                    net::Response& out = *call->res;
                    obs::Histogram* h = metrics.failed;
                    if (call->last && call->last->status.ok() &&
                        (outcome.kind == Outcome::kSuccess || outcome.kind == Outcome::kFatal ||
                         outcome.kind == Outcome::kFailure)) {
                      // The upstream answered: pass its answer through.
                      const net::ClientResponse& r = *call->last;
                      out.set_status(r.http_status);
                      std::string_view type = r.header("content-type");
                      if (!type.empty()) out.set_content_type(type);
                      out.body() = r.body;
                      h = metrics.ok;
                    } else if (outcome.kind == Outcome::kRejected) {
                      out.SetError(503, outcome.message.empty() ? "rejected" : outcome.message);
                      h = metrics.rejected;
                    } else if (outcome.kind == Outcome::kTimeout) {
                      out.SetError(504, "upstream deadline exceeded");
                      h = metrics.timeout;
                    } else {
                      out.SetError(502, call->last ? call->last->status.message()
                                                   : std::string("upstream failed"));
                    }
                    if (call->admitted) {
                      // Timeouts and upstream failures are the overload signal.
                      if (h == metrics.ok) call->admitted->OnSuccess();
                      else call->admitted->OnDropped();
                    }
                    auto elapsed = SystemClock::Default().Now() - call->start;
                    h->Observe(std::chrono::duration<double>(elapsed).count());
                    call->responder.Send();
                  });
}

}  // namespace keel::relay
