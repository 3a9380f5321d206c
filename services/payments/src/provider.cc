#include "provider.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <optional>
#include <thread>

#include "keel/base/clock.h"
#include "keel/net/asio_scheduler.h"
#include "keel/net/http_client.h"

namespace keel::payments {

using resilience::Outcome;

struct Provider::Impl {
  std::string url;
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::unique_ptr<net::AsioScheduler> sched;
  std::unique_ptr<net::HttpClient> client;  // used on the io thread only
  std::unique_ptr<resilience::Pipeline> pipeline;
  std::thread thread;
};

StatusOr<std::unique_ptr<Provider>> Provider::Create(std::string url, resilience::PipelineOptions pipeline,
                                                     obs::Registry& registry) {
  if (url.empty()) return InvalidArgument("payments.provider_url: required");
  auto impl = std::make_unique<Impl>();
  impl->url = std::move(url);
  auto p = resilience::Pipeline::Create(std::move(pipeline), SystemClock::Default(), registry, "payment_provider");
  if (!p.ok()) return p.status();
  impl->pipeline = std::move(*p);
  auto c = net::HttpClient::Create(impl->io, {}, registry);
  if (!c.ok()) return c.status();
  impl->client = std::move(*c);
  impl->sched = std::make_unique<net::AsioScheduler>(impl->io);
  impl->work.emplace(impl->io.get_executor());
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<Provider>(new Provider(std::move(impl)));
}

Provider::Provider(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Provider::~Provider() {
  // The client is destroyed on its own thread, then the loop ends.
  std::promise<void> done;
  impl_->sched->Post([this, &done] {
    impl_->client.reset();
    done.set_value();
  });
  done.get_future().wait();
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

StatusOr<Provider::Answer> Provider::Post(const std::string& target, const nlohmann::json& body,
                                          const std::string& idempotency_key) {
  struct CallState {
    std::optional<net::ClientResponse> last;
    std::promise<StatusOr<Answer>> result;
  };
  auto state = std::make_shared<CallState>();
  auto future = state->result.get_future();
  const std::string payload = body.dump();
  Impl* impl = impl_.get();
  impl->sched->Post([impl, state, payload, target, idempotency_key] {
    auto attempt = [impl, state, payload, target, idempotency_key](
                       const resilience::AttemptContext& ctx,
                       std::function<void(Outcome)> done) -> resilience::CancelFn {
      net::ClientRequest req;
      req.upstream = impl->url;
      req.method = net::Method::kPost;
      req.target = target;
      req.body = payload;
      req.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", idempotency_key}};
      if (!ctx.deadline.infinite()) req.deadline = ctx.deadline.when();
      net::RequestId id = impl->client->Send(std::move(req), [state, done](net::ClientResponse r) {
        Outcome::Kind kind = Outcome::kSuccess;
        if (r.timed_out) {
          kind = Outcome::kTimeout;
        } else if (!r.status.ok() || r.http_status >= 500 || r.http_status == 429) {
          // Every call carries an Idempotency-Key: a repeat is safe.
          kind = Outcome::kFailure;
        }
        state->last = std::move(r);
        done(Outcome{kind, {}});
      });
      return [impl, id] { impl->client->Cancel(id); };
    };
    impl->pipeline->Call(*impl->sched, {.idempotent = true}, std::move(attempt),
                         [state](const Outcome& outcome, const resilience::CallStats& stats) {
                           if (outcome.kind == Outcome::kSuccess && state->last) {
                             Answer a;
                             a.status = state->last->http_status;
                             a.body = nlohmann::json::parse(state->last->body, nullptr, false);
                             if (a.body.is_discarded()) a.body = nullptr;
                             state->result.set_value(std::move(a));
                             return;
                           }
                           std::string why = Outcome::Name(outcome.kind);
                           if (!outcome.message.empty()) why += ": " + outcome.message;
                           if (state->last) {
                             why += state->last->status.ok() ? " (last answer HTTP " +
                                                                   std::to_string(state->last->http_status) + ")"
                                                             : " (" + state->last->status.message() + ")";
                           }
                           state->result.set_value(Unavailable("payment provider: " + why + " after " +
                                                               std::to_string(stats.attempts) + " attempt(s)"));
                         });
  });
  return future.get();
}

}  // namespace keel::payments
