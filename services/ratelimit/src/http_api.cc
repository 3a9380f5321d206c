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

// "k=v,k2=v2" -> entries (views into `text`).
bool ParseDescriptorParam(std::string_view text, std::vector<DescriptorEntry>* out) {
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    out->push_back({item.substr(0, eq), item.substr(eq + 1)});
  }
  return !out->empty();
}

// Query parameter `name` (no percent-decoding: descriptor keys and values in
// the admin API are plain).
std::string_view QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=') {
      return kv.substr(name.size() + 1);
    }
  }
  return {};
}

}  // namespace

Status AddHttpApi(net::Router& router, Limiter& limiter, HttpApiOptions options) {
  Status st = router.Add(net::Method::kPost, "/json", [&limiter](const net::Request& req, net::Response& res) {
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
  if (!st.ok()) return st;

  auto admin = std::make_shared<HttpApiOptions>(std::move(options));
  auto authorized = [admin](const net::Request& req, net::Response& res) {
    if (admin->admin_token.empty()) {
      res.SetError(404, "admin API disabled (no admin.token_file)");
      return false;
    }
    if (req.header("authorization") != "Bearer " + admin->admin_token) {
      res.SetError(401, "missing or wrong bearer token");
      res.add_header("WWW-Authenticate", "Bearer");
      return false;
    }
    return true;
  };
  st = router.Add(net::Method::kGet, "/v1/config", [&limiter, authorized](const net::Request& req, net::Response& res) {
    if (!authorized(req, res)) return;
    auto cfg = limiter.config();
    res.set_content_type("application/yaml");
    res.body() = cfg->text();
  });
  if (!st.ok()) return st;
  st = router.Add(net::Method::kPost, "/v1/config/reload", [admin, authorized](const net::Request& req, net::Response& res) {
    if (!authorized(req, res)) return;
    Status reloaded = admin->reload ? admin->reload() : Unavailable("no rules file to reload");
    if (!reloaded.ok()) return res.SetError(422, reloaded.message());
    res.set_content_type("application/json");
    res.body() = R"({"reloaded":true})";
  });
  if (!st.ok()) return st;
  auto keys = [&limiter, authorized](const net::Request& req, net::Response& res) {
    if (!authorized(req, res)) return;
    const std::string_view domain = QueryParam(req.query, "domain");
    std::vector<DescriptorEntry> entries;
    if (domain.empty() || !ParseDescriptorParam(QueryParam(req.query, "descriptor"), &entries)) {
      return res.SetError(400, "need ?domain=D&descriptor=k=v[,k2=v2]");
    }
    if (req.method == net::Method::kDelete) {
      Status reset = limiter.Reset(domain, entries);
      if (!reset.ok()) return res.SetError(404, reset.message());
      res.set_status(204);
      return;
    }
    RateLimitOutput out;
    Status inspected = limiter.Inspect(domain, entries, &out);
    if (!inspected.ok()) return res.SetError(404, inspected.message());
    res.set_content_type("application/json");
    AppendResponseJson(out, &res.body());
  };
  st = router.Add(net::Method::kGet, "/v1/keys", keys);
  if (!st.ok()) return st;
  return router.Add(net::Method::kDelete, "/v1/keys", keys);
}

}  // namespace keel::ratelimit
