// Proxy specifications as the Toxiproxy 2.x API spells them.
//
//   {"name": "redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379",
//    "enabled": true, "toxics": [...]}
//
// `name` and `upstream` are required; `enabled` defaults to true; `listen`
// defaults to "127.0.0.1:0" (Toxiproxy binds all interfaces for an empty
// listen; Keel keeps a forgotten field off the network). `toxics` is a Keel
// extension: the proxy is created with these toxics in one call.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keel/chaos/api_reply.h"
#include "keel/chaos/toxic.h"

namespace keel::chaos {

inline constexpr const char* kDefaultListen = "127.0.0.1:0";

struct ProxySpec {
  std::string name;
  std::string listen = kDefaultListen;
  std::string upstream;
  bool enabled = true;
  std::vector<ToxicSpec> toxics;  // creation order
};

// Parses a POST /proxies body. Errors (400): bad body, missing name or
// upstream ("missing required field: name"), a bad toxic, duplicate toxic
// names (409). `where` is appended to missing-field messages (" at proxy 2").
ApiResult<ProxySpec> ParseProxy(const nlohmann::json& body, const std::string& where = "");

// Parses a POST /populate body or a --config file: an array of proxies, or
// {"proxies": [...]}. Every entry is validated before any is returned.
ApiResult<std::vector<ProxySpec>> ParseProxyList(const nlohmann::json& body);

// Applies a POST /proxies/{name} body to `current`: listen, upstream and
// enabled present in the body replace the current values.
ApiResult<ProxySpec> UpdateProxy(const ProxySpec& current, const nlohmann::json& body);

// The proxy's API representation, toxics included.
nlohmann::json ProxyToJson(const ProxySpec& proxy);

}  // namespace keel::chaos
