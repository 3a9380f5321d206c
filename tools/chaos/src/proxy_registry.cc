#include "keel/chaos/proxy_registry.h"

#include <chrono>
#include <map>

#include "chaos_metrics.h"
#include "data_plane.h"
#include "proxy.h"

namespace keel::chaos {

using nlohmann::json;

class ProxyRegistry::Impl {
 public:
  Impl(const ChaosOptions& o, obs::Registry& registry)
      : options(o),
        plane(o.threads, o.seed != 0 ? o.seed
                                     : static_cast<std::uint64_t>(
                                           std::chrono::steady_clock::now().time_since_epoch().count())),
        metrics(registry) {
    plane.Start();
  }

  Proxy* Find(const std::string& name) {
    auto it = proxies.find(name);
    return it == proxies.end() ? nullptr : it->second.get();
  }

  // Creates and (if enabled) starts a proxy; on failure nothing is kept.
  ApiReply Add(const ProxySpec& spec) {
    auto proxy = std::make_unique<Proxy>(spec, plane, metrics);
    if (spec.enabled) {
      ApiReply r = proxy->Start();
      if (!r.ok()) return r;
    }
    Proxy* p = proxy.get();
    proxies[spec.name] = std::move(proxy);
    return ApiReply{201, p->ToJson()};
  }

  const ChaosOptions options;
  DataPlane plane;
  ChaosMetrics metrics;
  std::map<std::string, std::unique_ptr<Proxy>> proxies;  // destroyed before plane
};

ProxyRegistry::ProxyRegistry(ChaosOptions options, obs::Registry& metrics)
    : impl_(std::make_unique<Impl>(options, metrics)) {}

ProxyRegistry::~ProxyRegistry() { Shutdown(); }

void ProxyRegistry::Shutdown() {
  std::lock_guard lock(mu_);
  if (!impl_) return;
  for (auto& [name, proxy] : impl_->proxies) proxy->Stop();
  impl_->plane.Stop();
  impl_.reset();
}

#define KEEL_CHAOS_LOCKED()                                              \
  std::lock_guard lock(mu_);                                             \
  if (!impl_) return ApiReply::Error(503, "keel chaos is shutting down")

#define KEEL_CHAOS_FIND(var, name)                                      \
  Proxy* var = impl_->Find(name);                                       \
  if (var == nullptr) return ApiReply::Error(404, kErrProxyNotFound)

ApiReply ProxyRegistry::ListProxies() {
  KEEL_CHAOS_LOCKED();
  json out = json::object();
  for (const auto& [name, proxy] : impl_->proxies) out[name] = proxy->ToJson();
  return ApiReply{200, std::move(out)};
}

ApiReply ProxyRegistry::CreateProxy(const json& body) {
  KEEL_CHAOS_LOCKED();
  auto spec = ParseProxy(body);
  if (!spec.ok()) return spec.error();
  if (impl_->Find(spec->name) != nullptr) return ApiReply::Error(409, kErrProxyAlreadyExists);
  return impl_->Add(*spec);
}

ApiReply ProxyRegistry::Populate(const json& body) {
  KEEL_CHAOS_LOCKED();
  auto specs = ParseProxyList(body);
  if (!specs.ok()) return specs.error();
  json created = json::array();
  for (const ProxySpec& spec : *specs) {
    Proxy* existing = impl_->Find(spec.name);
    // As Toxiproxy: an unchanged proxy is kept (with its toxics), a changed one replaced.
    if (existing != nullptr && existing->spec().listen == spec.listen &&
        existing->spec().upstream == spec.upstream && spec.toxics.empty()) {
      created.push_back(existing->ToJson());
      continue;
    }
    if (existing != nullptr) impl_->proxies.erase(spec.name);
    ApiReply r = impl_->Add(spec);
    if (!r.ok()) {
      r.body["proxies"] = std::move(created);
      return r;
    }
    created.push_back(std::move(r.body));
  }
  return ApiReply{201, json{{"proxies", std::move(created)}}};
}

ApiReply ProxyRegistry::GetProxy(const std::string& name) {
  KEEL_CHAOS_LOCKED();
  KEEL_CHAOS_FIND(proxy, name);
  return ApiReply{200, proxy->ToJson()};
}

ApiReply ProxyRegistry::UpdateProxy(const std::string& name, const json& body) {
  KEEL_CHAOS_LOCKED();
  KEEL_CHAOS_FIND(proxy, name);
  return proxy->Update(body);
}

ApiReply ProxyRegistry::DeleteProxy(const std::string& name) {
  KEEL_CHAOS_LOCKED();
  KEEL_CHAOS_FIND(proxy, name);
  (void)proxy;
  impl_->proxies.erase(name);
  return ApiReply{204, {}};
}

ApiReply ProxyRegistry::ListToxics(const std::string& name) {
  KEEL_CHAOS_LOCKED();
  KEEL_CHAOS_FIND(proxy, name);
  return ApiReply{200, proxy->ToxicsJson()};
}

ApiReply ProxyRegistry::AddToxic(const std::string& name, const json& body) {
  KEEL_CHAOS_LOCKED();
  KEEL_CHAOS_FIND(proxy, name);
  auto toxic = ParseToxic(body);
  if (!toxic.ok()) return toxic.error();
  return proxy->AddToxic(std::move(*toxic));
}

ApiReply ProxyRegistry::GetToxic(const std::string& name, const std::string& toxic) {
  KEEL_CHAOS_LOCKED();
  KEEL_CHAOS_FIND(proxy, name);
  return proxy->GetToxic(toxic);
}

ApiReply ProxyRegistry::UpdateToxic(const std::string& name, const std::string& toxic,
                                    const json& body) {
  KEEL_CHAOS_LOCKED();
  KEEL_CHAOS_FIND(proxy, name);
  return proxy->UpdateToxic(toxic, body);
}

ApiReply ProxyRegistry::RemoveToxic(const std::string& name, const std::string& toxic) {
  KEEL_CHAOS_LOCKED();
  KEEL_CHAOS_FIND(proxy, name);
  return proxy->RemoveToxic(toxic);
}

ApiReply ProxyRegistry::Reset() {
  KEEL_CHAOS_LOCKED();
  for (auto& [name, proxy] : impl_->proxies) {
    if (!proxy->enabled()) {
      ApiReply r = proxy->Start();
      if (!r.ok()) return r;
    }
    proxy->RemoveAllToxics();
  }
  return ApiReply{204, {}};
}

ApiReply ProxyRegistry::Version() const {
  return ApiReply{200, json{{"version", impl_ ? impl_->options.version : std::string("keel")}}};
}

}  // namespace keel::chaos
