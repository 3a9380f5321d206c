#include "http_api.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "keel/base/units.h"

namespace keel::ratelimit {
namespace {

using Json = nlohmann::json;

constexpr std::pair<const char*, Unit> kUnitNames[] = {
    {"SECOND", Unit::kSecond}, {"MINUTE", Unit::kMinute}, {"HOUR", Unit::kHour}, {"DAY", Unit::kDay},
    {"WEEK", Unit::kWeek},     {"MONTH", Unit::kMonth},   {"YEAR", Unit::kYear},
};
const char* UnitJsonName(Unit unit) {
  for (const auto& [name, u] : kUnitNames) {
    if (u == unit) return name;
  }
  return "UNKNOWN";
}
const char* CodeName(ResponseCode code) {
  return code == ResponseCode::kOk ? "OK" : code == ResponseCode::kOverLimit ? "OVER_LIMIT" : "UNKNOWN";
}

// proto3 JSON accepts both the field name and its lowerCamelCase form.
const Json* Field(const Json& obj, const char* snake, const char* camel) {
  if (auto it = obj.find(snake); it != obj.end()) return &*it;
  if (auto it = obj.find(camel); it != obj.end()) return &*it;
  return nullptr;
}

// A proto3 JSON integer: a number or a decimal string.
bool JsonInt(const Json& v, std::int64_t* out) {
  if (v.is_number_integer()) {
    *out = v.get<std::int64_t>();
    return true;
  }
  if (v.is_string()) {
    auto n = ParseInt(v.get<std::string>());
    if (!n.ok()) return false;
    *out = *n;
    return true;
  }
  return false;
}

// proto3 JSON for a Duration: seconds with up to 9 fractional digits, "s".
std::string DurationJson(Duration d) {
  const auto ns = d.count();
  char buf[48];
  if (ns % 1'000'000'000 == 0) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ns / 1'000'000'000));
  } else {
    std::snprintf(buf, sizeof buf, "%lld.%09llds", static_cast<long long>(ns / 1'000'000'000),
                  static_cast<long long>(ns % 1'000'000'000));
  }
  return buf;
}

void JsonError(net::Response& res, int status, const std::string& message) { res.SetError(status, message); }

// Parses the request; the views in `input` point into `doc`.
Status ParseRequest(const Json& doc, RateLimitInput* input) {
  if (!doc.is_object()) return InvalidArgument("body must be a JSON object (an Envoy RateLimitRequest)");
  const Json* domain = Field(doc, "domain", "domain");
  if (!domain || !domain->is_string()) return InvalidArgument("domain: required string");
  input->domain = domain->get_ref<const std::string&>();
  if (const Json* h = Field(doc, "hits_addend", "hitsAddend")) {
    std::int64_t hits = 0;
    if (!JsonInt(*h, &hits)) return InvalidArgument("hits_addend: expected an integer");
    input->hits_addend = hits == 0 ? 1 : hits;  // negative: a refund (HTTP only)
  }
  const Json* descriptors = Field(doc, "descriptors", "descriptors");
  if (!descriptors || !descriptors->is_array()) return InvalidArgument("descriptors: required list");
  for (std::size_t i = 0; i < descriptors->size(); ++i) {
    const Json& d = (*descriptors)[i];
    const std::string where = "descriptors[" + std::to_string(i) + "]";
    if (!d.is_object()) return InvalidArgument(where + ": expected an object");
    DescriptorInput in;
    const Json* entries = Field(d, "entries", "entries");
    if (!entries || !entries->is_array() || entries->empty()) return InvalidArgument(where + ".entries: required non-empty list");
    for (const Json& e : *entries) {
      const Json* k = e.is_object() ? Field(e, "key", "key") : nullptr;
      const Json* v = e.is_object() ? Field(e, "value", "value") : nullptr;
      if (!k || !k->is_string() || (v && !v->is_string())) {
        return InvalidArgument(where + ".entries: each needs a string key and value");
      }
      in.entries.push_back({k->get_ref<const std::string&>(), v ? std::string_view(v->get_ref<const std::string&>()) : ""});
    }
    if (const Json* l = Field(d, "limit", "limit")) {
      const Json* rpu = l->is_object() ? Field(*l, "requests_per_unit", "requestsPerUnit") : nullptr;
      const Json* unit = l->is_object() ? Field(*l, "unit", "unit") : nullptr;
      std::int64_t n = 0;
      if (!rpu || !JsonInt(*rpu, &n) || n < 0 || n > UINT32_MAX || !unit || !unit->is_string()) {
        return InvalidArgument(where + ".limit: needs requests_per_unit and unit (SECOND .. YEAR, WEEK)");
      }
      std::optional<Unit> parsed;
      for (const auto& [name, u] : kUnitNames) {
        if (unit->get_ref<const std::string&>() == name) parsed = u;
      }
      if (!parsed) return InvalidArgument(where + ".limit.unit: unknown unit");
      in.limit = LimitOverride{static_cast<std::uint32_t>(n), *parsed};
    }
    if (const Json* h = Field(d, "hits_addend", "hitsAddend")) {
      std::int64_t hits = 0;
      if (!JsonInt(*h, &hits)) return InvalidArgument(where + ".hits_addend: expected an integer");
      in.hits = hits;
    }
    input->descriptors.push_back(std::move(in));
  }
  return Status::Ok();
}

Json ResponseJson(const RateLimitOutput& out) {
  Json statuses = Json::array();
  for (const DescriptorOutput& d : out.statuses) {
    Json s = {{"code", CodeName(d.code)}};
    if (d.overridden) {
      s["currentLimit"] = {{"requestsPerUnit", d.override_limit.requests_per_unit},
                           {"unit", UnitJsonName(d.override_limit.unit)}};
    } else if (d.current_limit) {
      s["currentLimit"] = {{"requestsPerUnit", d.current_limit->spec.requests_per_unit},
                           {"unit", UnitJsonName(d.current_limit->spec.unit)}};
      if (!d.current_limit->name.empty()) s["currentLimit"]["name"] = d.current_limit->name;
    }
    if (d.limit_remaining) s["limitRemaining"] = d.limit_remaining;
    if (d.current_limit || d.overridden) s["durationUntilReset"] = DurationJson(d.duration_until_reset);
    statuses.push_back(std::move(s));
  }
  return {{"overallCode", CodeName(out.overall_code)}, {"statuses", statuses}};
}

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
    Json doc = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return JsonError(res, 400, "body is not valid JSON");
    RateLimitInput input;
    Status parsed = ParseRequest(doc, &input);
    if (!parsed.ok()) return JsonError(res, 400, parsed.message());
    RateLimitOutput out;
    Status decided = limiter.Decide(input, &out);
    if (!decided.ok()) {
      return JsonError(res, decided.code() == StatusCode::kInvalidArgument ? 400 : 503, decided.message());
    }
    res.set_status(out.overall_code == ResponseCode::kOverLimit ? 429 : 200);
    res.set_content_type("application/json");
    AddRateLimitHeaders(out, res);
    res.body() = ResponseJson(out).dump();
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
    res.body() = ResponseJson(out).dump();
  };
  st = router.Add(net::Method::kGet, "/v1/keys", keys);
  if (!st.ok()) return st;
  return router.Add(net::Method::kDelete, "/v1/keys", keys);
}

}  // namespace keel::ratelimit
