#include "keel/chaos/proxy_spec.h"

#include <set>

namespace keel::chaos {

using nlohmann::json;

namespace {

ApiReply Missing(const std::string& field, const std::string& where) {
  return ApiReply::Error(400, std::string(kErrMissingField) + ": " + field + where);
}

// Reads listen/upstream/enabled present in `body` over `spec`.
ApiResult<ProxySpec> ReadFields(const json& body, ProxySpec spec) {
  for (auto [key, member] : {std::pair{"name", &ProxySpec::name},
                             std::pair{"listen", &ProxySpec::listen},
                             std::pair{"upstream", &ProxySpec::upstream}}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) return BadBody(std::string(key) + " must be a string");
    spec.*member = it->get<std::string>();
  }
  auto it = body.find("enabled");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return BadBody("enabled must be a boolean");
    spec.enabled = it->get<bool>();
  }
  return spec;
}

}  // namespace

ApiResult<ProxySpec> ParseProxy(const json& body, const std::string& where) {
  if (!body.is_object()) return BadBody("expected a JSON object");
  auto spec = ReadFields(body, ProxySpec{});
  if (!spec.ok()) return spec;
  if (spec->name.empty()) return Missing("name", where);
  if (spec->upstream.empty()) return Missing("upstream", where);
  if (spec->listen.empty()) spec->listen = kDefaultListen;
  auto toxics = body.find("toxics");
  if (toxics != body.end() && !toxics->is_null()) {
    if (!toxics->is_array()) return BadBody("toxics must be an array");
    std::set<std::string> names;
    for (const json& t : *toxics) {
      auto toxic = ParseToxic(t);
      if (!toxic.ok()) return toxic.error();
      if (!names.insert(toxic->name).second) return ApiReply::Error(409, kErrToxicAlreadyExists);
      spec->toxics.push_back(std::move(*toxic));
    }
  }
  return spec;
}

ApiResult<std::vector<ProxySpec>> ParseProxyList(const json& body) {
  const json* list = &body;
  if (body.is_object() && body.contains("proxies")) list = &body["proxies"];
  if (!list->is_array()) return BadBody("expected an array of proxies");
  std::vector<ProxySpec> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto spec = ParseProxy((*list)[i], " at proxy " + std::to_string(i + 1));
    if (!spec.ok()) return spec.error();
    out.push_back(std::move(*spec));
  }
  return out;
}

ApiResult<ProxySpec> UpdateProxy(const ProxySpec& current, const json& body) {
  if (!body.is_object()) return BadBody("expected a JSON object");
  auto spec = ReadFields(body, current);
  if (!spec.ok()) return spec;
  spec->name = current.name;  // the name in the path wins, as in Toxiproxy
  if (spec->listen.empty()) spec->listen = kDefaultListen;
  if (spec->upstream.empty()) return Missing("upstream", "");
  return spec;
}

json ProxyToJson(const ProxySpec& proxy) {
  json toxics = json::array();
  for (const auto& t : proxy.toxics) toxics.push_back(ToxicToJson(t));
  return json{{"name", proxy.name},
              {"listen", proxy.listen},
              {"upstream", proxy.upstream},
              {"enabled", proxy.enabled},
              {"toxics", std::move(toxics)}};
}

}  // namespace keel::chaos
