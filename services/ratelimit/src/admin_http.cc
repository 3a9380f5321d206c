#include "admin_http.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "json_api.h"
#include "keel/base/units.h"

namespace keel::ratelimit {
namespace {

using nlohmann::json;

int HttpStatus(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kFailedPrecondition: return 422;
    case StatusCode::kResourceExhausted: return 409;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kAborted: return 409;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

void Fail(const Status& s, net::Response& res) {
  res.SetError(HttpStatus(s.code()), s.message());
  if (s.code() == StatusCode::kUnauthenticated) res.add_header("WWW-Authenticate", "Bearer");
}

void WriteJson(const json& j, net::Response& res) {
  res.set_content_type("application/json");
  // Descriptor values come from clients: bytes that are not UTF-8 become U+FFFD.
  res.body() = j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string DurationText(Duration d) {
  std::string out;
  AppendDurationJson(d, &out);
  return out;
}

json EntriesJson(const std::vector<OwnedEntry>& entries) {
  json out = json::array();
  for (const OwnedEntry& e : entries) out.push_back({{"key", e.key}, {"value", e.value}});
  return out;
}

json LimitJson(const LimitSpec& spec, bool unlimited, std::string_view name) {
  if (unlimited) return {{"unlimited", true}};
  json out = {{"unit", UnitName(spec.unit)},
              {"requests_per_unit", spec.requests_per_unit},
              {"algorithm", AlgorithmName(spec.algorithm)}};
  if (spec.burst) out["burst"] = *spec.burst;
  if (spec.lease_ttl) out["lease_ttl"] = FormatDuration(*spec.lease_ttl);
  if (!name.empty()) out["name"] = name;
  return out;
}

json RuleJson(const Rule& rule) {
  json match = json::array();
  for (const RuleEntry& e : rule.descriptor) match.push_back({{"key", e.key}, {"value", e.value}});
  json limits = json::array();
  for (const LimitRule& l : rule.limits) limits.push_back(LimitJson(l.spec, false, l.name));
  return {{"domain", rule.domain},       {"key", rule.full_key},
          {"match", match},              {"limits", limits},
          {"unlimited", rule.unlimited}, {"shadow_mode", rule.shadow_mode},
          {"detailed_metric", rule.detailed_metric}, {"replaces", rule.replaces}};
}

json OverrideJson(const OverrideInfo& info) {
  const KeyOverride& o = info.override;
  json out = {{"domain", o.domain},
              {"entries", EntriesJson(o.entries)},
              {"limit", LimitJson(o.limit, o.unlimited, "")},
              {"rule", info.rule},
              {"expires_in", nullptr}};
  if (info.expires_in) out["expires_in"] = DurationText(*info.expires_in);
  return out;
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

struct KeyParams {
  std::string_view domain;
  std::vector<DescriptorEntry> entries;
};

Status ParseKeyParams(const net::Request& req, KeyParams* out) {
  out->domain = QueryParam(req.query, "domain");
  if (out->domain.empty() || !ParseDescriptorParam(QueryParam(req.query, "descriptor"), &out->entries)) {
    return InvalidArgument("need ?domain=D&descriptor=k=v[,k2=v2]");
  }
  return ValidateKey(out->domain, out->entries);
}

Status Unknown(const json& obj, std::string_view where, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return InvalidArgument(std::string(where) + key + ": unknown field");
    }
  }
  return Status::Ok();
}

StatusOr<std::uint32_t> Uint32(const json& j, const std::string& where) {
  if (!j.is_number_unsigned() || j.get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max()) {
    return InvalidArgument(where + ": expected an integer 0 .. 4294967295");
  }
  return static_cast<std::uint32_t>(j.get<std::uint64_t>());
}

StatusOr<Duration> DurationField(const json& j, const std::string& where) {
  if (j.is_number() && j.get<double>() > 0 && j.get<double>() < 1e9) {
    return Duration(static_cast<std::int64_t>(j.get<double>() * 1e9));
  }
  if (j.is_string()) {
    auto d = ParseDuration(j.get<std::string>());
    if (d.ok() && d->count() > 0) return *d;
  }
  return InvalidArgument(where + ": expected a positive duration (\"90s\", \"10m\") or seconds");
}

Status ParseLimit(const json& j, OverrideRequest* out) {
  if (!j.is_object()) return InvalidArgument("limit: required object");
  if (Status s = Unknown(j, "limit.", {"unit", "requests_per_unit", "algorithm", "burst", "lease_ttl", "unlimited"});
      !s.ok()) {
    return s;
  }
  if (auto it = j.find("unlimited"); it != j.end()) {
    if (!it->is_boolean()) return InvalidArgument("limit.unlimited: expected true or false");
    out->unlimited = it->get<bool>();
    if (out->unlimited) return Status::Ok();
  }
  auto unit = j.find("unit");
  if (unit == j.end() || !unit->is_string()) return InvalidArgument("limit.unit: required (second, minute, ...)");
  auto u = ParseUnit(unit->get<std::string>());
  if (!u.ok()) return InvalidArgument("limit.unit: " + u.status().message());
  out->limit.unit = *u;
  auto rpu = j.find("requests_per_unit");
  if (rpu == j.end()) return InvalidArgument("limit.requests_per_unit: required");
  auto n = Uint32(*rpu, "limit.requests_per_unit");
  if (!n.ok()) return n.status();
  out->limit.requests_per_unit = *n;
  if (auto it = j.find("algorithm"); it != j.end()) {
    auto a = it->is_string() ? ParseAlgorithm(it->get<std::string>()) : StatusOr<Algorithm>(InvalidArgument("expected a string"));
    if (!a.ok()) return InvalidArgument("limit.algorithm: " + a.status().message());
    out->limit.algorithm = *a;
  }
  if (auto it = j.find("burst"); it != j.end()) {
    auto b = Uint32(*it, "limit.burst");
    if (!b.ok()) return b.status();
    out->limit.burst = *b;
  }
  if (auto it = j.find("lease_ttl"); it != j.end()) {
    auto d = DurationField(*it, "limit.lease_ttl");
    if (!d.ok()) return d.status();
    out->limit.lease_ttl = *d;
  }
  return Status::Ok();
}

StatusOr<OverrideRequest> ParseOverride(std::string_view body) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("body: expected a JSON object");
  if (Status s = Unknown(j, "", {"domain", "entries", "limit", "ttl"}); !s.ok()) return s;
  OverrideRequest req;
  auto domain = j.find("domain");
  if (domain == j.end() || !domain->is_string()) return InvalidArgument("domain: required string");
  req.domain = domain->get<std::string>();
  auto entries = j.find("entries");
  if (entries == j.end() || !entries->is_array()) return InvalidArgument("entries: required list of {key, value}");
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const json& e = (*entries)[i];
    const std::string where = "entries[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("key") || !e["key"].is_string() ||
        (e.contains("value") && !e["value"].is_string())) {
      return InvalidArgument(where + ": expected {\"key\": string, \"value\": string}");
    }
    if (Status s = Unknown(e, where + ".", {"key", "value"}); !s.ok()) return s;
    req.entries.push_back({e["key"].get<std::string>(), e.value("value", "")});
  }
  auto limit = j.find("limit");
  if (limit == j.end()) return InvalidArgument("limit: required object");
  if (Status s = ParseLimit(*limit, &req); !s.ok()) return s;
  if (auto ttl = j.find("ttl"); ttl != j.end() && !ttl->is_null()) {
    auto d = DurationField(*ttl, "ttl");
    if (!d.ok()) return d.status();
    req.ttl = *d;
  }
  return req;
}

}  // namespace

Status AddAdminHttpApi(net::Router& router, std::shared_ptr<Admin> admin) {
  // Every route: the token first, then the operation.
  auto route = [&router, admin](net::Method method, const char* path,
                                std::function<void(Admin&, const net::Request&, net::Response&)> op) {
    return router.Add(method, path, [admin, op = std::move(op)](const net::Request& req, net::Response& res) {
      if (!admin->enabled()) return res.SetError(404, "admin API disabled (no admin.token_file)");
      if (Status s = admin->Authorize(req.header("authorization")); !s.ok()) return Fail(s, res);
      op(*admin, req, res);
    });
  };
  Status st = route(net::Method::kGet, "/v1/config", [](Admin& a, const net::Request&, net::Response& res) {
    res.set_content_type("application/yaml");
    res.body() = a.config()->text();
  });
  if (!st.ok()) return st;
  st = route(net::Method::kPost, "/v1/config/reload", [](Admin& a, const net::Request&, net::Response& res) {
    auto r = a.Reload();
    if (!r.ok()) return Fail(r.status(), res);
    WriteJson({{"reloaded", true}, {"rules", r->rules}, {"domains", r->domains}}, res);
  });
  if (!st.ok()) return st;
  st = route(net::Method::kGet, "/v1/rules", [](Admin& a, const net::Request& req, net::Response& res) {
    auto list = a.ListRules(QueryParam(req.query, "domain"));
    if (!list.ok()) return Fail(list.status(), res);
    json rules = json::array();
    for (const Rule* r : list->rules) rules.push_back(RuleJson(*r));
    WriteJson({{"rules", rules}}, res);
  });
  if (!st.ok()) return st;
  st = route(net::Method::kGet, "/v1/keys", [](Admin& a, const net::Request& req, net::Response& res) {
    KeyParams key;
    if (Status s = ParseKeyParams(req, &key); !s.ok()) return Fail(s, res);
    auto state = a.GetKeyState(key.domain, key.entries);
    if (!state.ok()) return Fail(state.status(), res);
    RateLimitOutput out;
    out.overall_code = state->status.code;
    out.statuses.push_back(state->status);
    res.set_content_type("application/json");
    AppendResponseJson(out, &res.body());
  });
  if (!st.ok()) return st;
  st = route(net::Method::kDelete, "/v1/keys", [](Admin& a, const net::Request& req, net::Response& res) {
    KeyParams key;
    if (Status s = ParseKeyParams(req, &key); !s.ok()) return Fail(s, res);
    if (Status s = a.ResetKey(key.domain, key.entries); !s.ok()) return Fail(s, res);
    res.set_status(204);
  });
  if (!st.ok()) return st;
  st = route(net::Method::kPut, "/v1/overrides", [](Admin& a, const net::Request& req, net::Response& res) {
    auto request = ParseOverride(req.body);
    if (!request.ok()) return Fail(request.status(), res);
    auto put = a.PutOverride(std::move(*request));
    if (!put.ok()) return Fail(put.status(), res);
    WriteJson(OverrideJson(*put), res);
  });
  if (!st.ok()) return st;
  st = route(net::Method::kGet, "/v1/overrides", [](Admin& a, const net::Request& req, net::Response& res) {
    json list = json::array();
    for (const OverrideInfo& o : a.ListOverrides(QueryParam(req.query, "domain"))) list.push_back(OverrideJson(o));
    WriteJson({{"overrides", list}}, res);
  });
  if (!st.ok()) return st;
  return route(net::Method::kDelete, "/v1/overrides", [](Admin& a, const net::Request& req, net::Response& res) {
    KeyParams key;
    if (Status s = ParseKeyParams(req, &key); !s.ok()) return Fail(s, res);
    if (Status s = a.DeleteOverride(key.domain, key.entries); !s.ok()) return Fail(s, res);
    res.set_status(204);
  });
}

}  // namespace keel::ratelimit
