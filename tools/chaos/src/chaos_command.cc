#include "keel/chaos/chaos_command.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "keel/base/units.h"
#include "keel/chaos/api.h"
#include "keel/chaos/proxy_registry.h"
#include "keel/net/http_server.h"
#include "keel/obs/log.h"
#include "keel/obs/process_metrics.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0"
#endif

namespace keel::chaos {

using nlohmann::json;

namespace {

// YAML scalars carry no type: booleans and integers are recognized, the rest
// stays a string (every field of a proxy or toxic is one of these).
json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = YamlToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted
      if (s == "true") return true;
      if (s == "false") return false;
      auto i = ParseInt(s);
      if (i.ok()) return *i;
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return d;
      return s;
    }
    default:
      return nullptr;
  }
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "keel: error: %s\n", message.c_str());
  return 2;
}

}  // namespace

StatusOr<std::vector<ProxySpec>> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    try {
      body = YamlToJson(YAML::Load(text));
    } catch (const YAML::Exception& e) {
      return InvalidArgument("config file '" + path + "' is neither JSON nor YAML: " +
                             std::string(e.what()));
    }
  }
  auto specs = ParseProxyList(body);
  if (!specs.ok()) {
    return InvalidArgument("config file '" + path + "': " +
                           specs.error().body["error"].get<std::string>());
  }
  return *specs;
}

int RunChaosCommand(const ChaosFlags& flags) {
  auto api = ParseHostPort(flags.api);
  if (!api.ok()) return Usage("--api: " + api.status().message());
  if (flags.threads < 1 || flags.threads > 256) {
    return Usage("--threads must be in [1, 256], got " + std::to_string(flags.threads));
  }
  obs::LogLevel level;
  if (!obs::ParseLogLevel(flags.log_level, &level)) {
    return Usage("--log-level: unknown level '" + flags.log_level + "'");
  }
  obs::SetLogLevel(level);
  std::vector<ProxySpec> initial;
  if (!flags.config.empty()) {
    auto specs = LoadConfigFile(flags.config);
    if (!specs.ok()) return Usage(specs.status().message());
    initial = std::move(*specs);
  }

  obs::Registry& registry = obs::DefaultRegistry();
  obs::RegisterProcessMetrics(registry);
  ChaosOptions options;
  options.threads = flags.threads;
  options.seed = flags.seed;
  options.version = KEEL_VERSION;
  ProxyRegistry proxies(options, registry);
  if (!initial.empty()) {
    json list = json::array();
    for (const auto& spec : initial) {
      json j = ProxyToJson(spec);
      if (spec.toxics.empty()) j.erase("toxics");
      list.push_back(std::move(j));
    }
    ApiReply r = proxies.Populate(list);
    if (!r.ok()) {
      std::fprintf(stderr, "keel: error: config: %s\n",
                   r.body["error"].get<std::string>().c_str());
      return 1;
    }
  }

  net::Router router;
  Status st = AddApiRoutes(router, proxies);
  if (!st.ok()) return Usage(st.message());
  net::HttpServerOptions http;
  http.host = api->host;
  http.port = api->port;
  http.threads = 1;
  http.shutdown_timeout = std::chrono::seconds(2);
  auto server = net::HttpServer::Create(http, std::move(router), registry);
  if (!server.ok()) {
    std::fprintf(stderr, "keel: error: %s\n", server.status().message().c_str());
    return 1;
  }
  const std::string addr = http.host + ":" + std::to_string((*server)->port());
  (*server)->Run(/*handle_signals=*/true, [&] {
    obs::Log(obs::LogLevel::kInfo, "listening",
             {{"service", "chaos"}, {"http", addr}, {"threads", flags.threads}});
  });
  proxies.Shutdown();
  obs::Log(obs::LogLevel::kInfo, "proxies closed");
  return 0;
}

}  // namespace keel::chaos
