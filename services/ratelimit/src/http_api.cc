#include "http_api.h"

#include "json_api.h"

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

}  // namespace

Status AddHttpApi(net::Router& router, Limiter& limiter) {
  return router.Add(net::Method::kPost, "/json", [&limiter](const net::Request& req, net::Response& res) {
    // One parser, input and output per HTTP worker thread, reused: in the
    // steady state a decision over HTTP allocates nothing.
    thread_local JsonRequestParser parser;
    thread_local RateLimitInput input;
    thread_local RateLimitOutput out;
    Status parsed = parser.Parse(req.body, &input);
    if (!parsed.ok()) return res.SetError(400, parsed.message());
    Status decided = limiter.Decide(input, &out);
    if (!decided.ok()) {
      out.config.reset();
      return res.SetError(decided.code() == StatusCode::kInvalidArgument ? 400 : 503, decided.message());
    }
    res.set_status(out.overall_code == ResponseCode::kOverLimit ? 429 : 200);
    res.set_content_type("application/json");
    AddRateLimitHeaders(out, res);
    AppendResponseJson(out, &res.body());
    out.config.reset();  // do not pin an old config between requests
  });
}

}  // namespace keel::ratelimit
