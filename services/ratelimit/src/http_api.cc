#include "http_api.h"

#include <memory>
#include <vector>

#include "json_api.h"
#include "keel/net/worker_context.h"

namespace keel::ratelimit {
namespace {

std::string CeilSeconds(Duration d) {
  return std::to_string((d.count() + 999'999'999) / 1'000'000'000);
}

// RateLimit-* headers from the descriptor that decided: the denying one, else
// the one with the least remaining.
void AddRateLimitHeaders(const RateLimitOutput& out, net::Response& res) {
  const DescriptorOutput* pick = nullptr;
  for (const DescriptorOutput& d : out.statuses) {
    if (!d.current_limit && !d.overridden) continue;
    if (!pick || (d.code == ResponseCode::kOverLimit && pick->code != ResponseCode::kOverLimit) ||
        (d.code == pick->code && d.limit_remaining < pick->limit_remaining)) {
      pick = &d;
    }
  }
  if (!pick) return;
  const std::uint32_t limit = pick->overridden ? pick->override_limit.requests_per_unit
                                               : pick->current_limit->spec.requests_per_unit;
  res.add_header("RateLimit-Limit", std::to_string(limit));
  res.add_header("RateLimit-Remaining", std::to_string(pick->limit_remaining));
  res.add_header("RateLimit-Reset", CeilSeconds(pick->duration_until_reset));
  if (pick->code == ResponseCode::kOverLimit && pick->retry_after != kNever) {
    res.add_header("Retry-After", CeilSeconds(pick->retry_after));
  }
}

void Answer(const Status& decided, RateLimitOutput& out, net::Response& res) {
  if (!decided.ok()) {
    res.SetError(decided.code() == StatusCode::kInvalidArgument ? 400 : 503, decided.message());
  } else {
    res.set_status(out.overall_code == ResponseCode::kOverLimit ? 429 : 200);
    res.set_content_type("application/json");
    AddRateLimitHeaders(out, res);
    AppendResponseJson(out, &res.body());
  }
  out.config.reset();  // do not pin an old config between requests
}

// A request decided by a remote store: its own parser, input and output,
// kept until the answer; recycled per worker thread.
struct AsyncJson {
  JsonRequestParser parser;
  RateLimitInput input;
  RateLimitOutput out;
};

std::vector<std::unique_ptr<AsyncJson>>& AsyncPool() {
  thread_local std::vector<std::unique_ptr<AsyncJson>> pool;
  return pool;
}

}  // namespace

Status AddHttpApi(net::Router& router, Limiter& limiter) {
  if (limiter.remote()) {
    // Decisions wait for Redis: the worker goes on serving other requests
    // meanwhile, so many decisions are in flight (and pipelined) at once.
    return router.AddAsync(net::Method::kPost, "/json", [&limiter](const net::Request& req, net::Response& res,
                                                                   net::Responder responder) {
      auto& pool = AsyncPool();
      std::unique_ptr<AsyncJson> call;
      if (pool.empty()) {
        call = std::make_unique<AsyncJson>();
      } else {
        call = std::move(pool.back());
        pool.pop_back();
      }
      Status parsed = call->parser.Parse(req.body, &call->input);
      if (!parsed.ok()) {
        res.SetError(400, parsed.message());
        responder.Send();
        pool.push_back(std::move(call));
        return;
      }
      Scheduler& worker = net::CurrentScheduler();
      auto held = std::make_shared<net::Responder>(std::move(responder));
      AsyncJson* raw = call.release();
      limiter.DecideAsync(raw->input, &raw->out, [raw, &res, held, &worker](Status decided) {
        // The answer comes on the store's thread; the response is the worker's.
        worker.Post([raw, &res, held, decided = std::move(decided)] {
          Answer(decided, raw->out, res);
          held->Send();
          AsyncPool().push_back(std::unique_ptr<AsyncJson>(raw));
        });
      });
    });
  }
  return router.Add(net::Method::kPost, "/json", [&limiter](const net::Request& req, net::Response& res) {
    // One parser, input and output per HTTP worker thread, reused: in the
    // steady state a decision over HTTP allocates nothing.
    thread_local JsonRequestParser parser;
    thread_local RateLimitInput input;
    thread_local RateLimitOutput out;
    Status parsed = parser.Parse(req.body, &input);
    if (!parsed.ok()) return res.SetError(400, parsed.message());
    Answer(limiter.Decide(input, &out), out, res);
  });
}

}  // namespace keel::ratelimit
