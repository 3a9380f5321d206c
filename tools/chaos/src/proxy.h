// One proxy: a listener, its connections and its toxics. Control methods run
// on an API thread, serialized by ProxyRegistry's mutex; the data plane sees
// changes through ProxyCore (under its mutex) and posted refreshes.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "chaos_metrics.h"
#include "connection.h"
#include "data_plane.h"
#include "keel/chaos/api_reply.h"
#include "keel/chaos/proxy_spec.h"

namespace keel::chaos {

class Proxy {
 public:
  // Not listening yet; spec.toxics are installed.
  Proxy(const ProxySpec& spec, DataPlane& plane, ChaosMetrics& metrics);
  ~Proxy();  // Stop()
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds the listener; listen becomes the bound address. 500 when it cannot.
  ApiReply Start();
  // Closes the listener and every connection.
  void Stop();
  bool enabled() const { return spec_.enabled; }
  const ProxySpec& spec() const { return spec_; }  // toxics not filled in
  nlohmann::json ToJson() const;

  // POST /proxies/{name}: new listen/upstream restart it; enabled starts/stops.
  ApiReply Update(const nlohmann::json& body);

  nlohmann::json ToxicsJson() const;
  ApiReply AddToxic(ToxicSpec toxic);
  ApiReply GetToxic(const std::string& name) const;
  ApiReply UpdateToxic(const std::string& name, const nlohmann::json& body);
  ApiReply RemoveToxic(const std::string& name);
  void RemoveAllToxics();

 private:
  std::size_t FindToxic(const std::string& name) const;  // npos if absent
  // Publishes toxics_ to the connections.
  void Publish();
  void AcceptLoop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor);

  DataPlane& plane_;
  Worker& home_;  // runs the accept loop
  ProxySpec spec_;
  std::shared_ptr<ProxyCore> core_;
  ToxicList toxics_;  // creation order
  std::uint64_t next_toxic_id_ = 1;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
};

}  // namespace keel::chaos
