// ProxyRegistry: every proxy of one `keel chaos` process, and the operations
// of the Toxiproxy 2.x HTTP API on them, each answering an ApiReply.
//
//   ProxyRegistry proxies(ChaosOptions{.threads = 2}, obs::DefaultRegistry());
//   ApiReply r = proxies.CreateProxy(nlohmann::json::parse(
//       R"({"name":"db","listen":"127.0.0.1:0","upstream":"127.0.0.1:5432"})"));
//   // r.status == 201, r.body["listen"] == "127.0.0.1:<bound port>"
//   proxies.AddToxic("db", nlohmann::json{{"type", "latency"},
//                                          {"attributes", {{"latency", 100}}}});
//
// Toxics of a stream form a chain in creation order; adding, updating or
// removing a toxic applies to live connections too (data held by a removed
// toxic is passed on, never dropped). See docs/chaos.md.
//
// Thread-safety: all methods are thread-safe (one mutex serializes the API
// operations; the data plane runs on its own `threads` event loops).
// Shutdown() (also run by the destructor) closes every proxy and connection.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "keel/chaos/api_reply.h"
#include "keel/obs/metrics.h"

namespace keel::chaos {

struct ChaosOptions {
  int threads = 1;           // data-plane event loops
  std::uint64_t seed = 0;    // toxicity, jitter and slicer draws; 0: from the clock
  std::string version = "keel";  // GET /version
};

class ProxyRegistry {
 public:
  ProxyRegistry(ChaosOptions options, obs::Registry& metrics);
  ~ProxyRegistry();
  ProxyRegistry(const ProxyRegistry&) = delete;
  ProxyRegistry& operator=(const ProxyRegistry&) = delete;

  ApiReply ListProxies();                                        // 200 {name: proxy}
  ApiReply CreateProxy(const nlohmann::json& body);              // 201; 409 duplicate
  ApiReply Populate(const nlohmann::json& body);                 // 201 {"proxies": [...]}
  ApiReply GetProxy(const std::string& name);                    // 200; 404
  ApiReply UpdateProxy(const std::string& name, const nlohmann::json& body);  // 200
  ApiReply DeleteProxy(const std::string& name);                 // 204
  ApiReply ListToxics(const std::string& proxy);                 // 200 [...]
  ApiReply AddToxic(const std::string& proxy, const nlohmann::json& body);  // 200
  ApiReply GetToxic(const std::string& proxy, const std::string& toxic);
  ApiReply UpdateToxic(const std::string& proxy, const std::string& toxic,
                       const nlohmann::json& body);
  ApiReply RemoveToxic(const std::string& proxy, const std::string& toxic);  // 204
  ApiReply Reset();  // 204: every proxy enabled, every toxic removed
  ApiReply Version() const;

  // Closes every listener and connection and stops the event loops.
  void Shutdown();

  class Impl;

 private:
  std::mutex mu_;
  std::unique_ptr<Impl> impl_;  // GUARDED_BY(mu_)
};

}  // namespace keel::chaos
