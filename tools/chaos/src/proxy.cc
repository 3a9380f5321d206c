#include "proxy.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "keel/base/units.h"
#include "keel/obs/log.h"

namespace keel::chaos {

using asio::ip::tcp;
using boost::system::error_code;
using nlohmann::json;

namespace {

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

StatusOr<tcp::endpoint> ResolveListen(const std::string& listen) {
  auto hp = ParseHostPort(listen);
  if (!hp.ok()) return hp.status();
  std::string host = hp->host;
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(addr, hp->port);
  asio::io_context ctx;
  tcp::resolver resolver(ctx);
  auto results = resolver.resolve(host, std::to_string(hp->port), ec);
  if (ec || results.empty()) return InvalidArgument("cannot resolve '" + host + "'");
  return results.begin()->endpoint();
}

}  // namespace

Proxy::Proxy(const ProxySpec& spec, DataPlane& plane, ChaosMetrics& metrics)
    : plane_(plane), home_(plane.Next()), spec_(spec), core_(std::make_shared<ProxyCore>()) {
  spec_.toxics.clear();
  core_->name = spec.name;
  core_->metrics = metrics.ForProxy(spec.name);
  core_->upstream = spec.upstream;
  for (const auto& t : spec.toxics) {
    toxics_.push_back(std::make_shared<const ToxicEntry>(ToxicEntry{next_toxic_id_++, t}));
  }
  Publish();
}

Proxy::~Proxy() {
  Stop();
  core_->metrics.toxics_active->Set(0);
}

ApiReply Proxy::Start() {
  if (acceptor_) return ApiReply{200, {}};
  auto endpoint = ResolveListen(spec_.listen);
  if (!endpoint.ok()) {
    return ApiReply::Error(500, "listen tcp " + spec_.listen + ": " + endpoint.status().message());
  }
  auto acceptor = std::make_shared<tcp::acceptor>(home_.ctx);
  error_code ec;
  acceptor->open(endpoint->protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(*endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return ApiReply::Error(500, "listen tcp " + spec_.listen + ": " + ec.message());
  }
  spec_.listen = FormatEndpoint(acceptor->local_endpoint(ec));
  spec_.enabled = true;
  acceptor_ = acceptor;
  {
    std::lock_guard lock(core_->mu);
    core_->accepting = true;
    core_->upstream = spec_.upstream;
  }
  asio::post(home_.ctx, [this, acceptor] { AcceptLoop(acceptor); });
  obs::Log(obs::LogLevel::kInfo, "proxy started",
           {{"proxy", spec_.name}, {"listen", spec_.listen}, {"upstream", spec_.upstream}});
  return ApiReply{200, {}};
}

// Runs on home_'s thread. The acceptor is captured, so a closed one is
// never used after Stop() drops its pointer.
void Proxy::AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor) {
  Worker& worker = plane_.Next();
  acceptor->async_accept(
      worker.ctx, [this, acceptor, &worker, core = core_](const error_code& ec, tcp::socket s) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
        if (ec) {
          // Out of descriptors and the like: back off instead of spinning.
          auto timer = std::make_shared<asio::steady_timer>(home_.ctx, std::chrono::milliseconds(50));
          timer->async_wait([this, acceptor, timer](const error_code&) {
            if (acceptor->is_open()) AcceptLoop(acceptor);
          });
          return;
        }
        auto conn = std::make_shared<Connection>(worker, std::move(s), core);
        bool registered = false;
        {
          std::lock_guard lock(core->mu);
          if (core->accepting) registered = core->conns.emplace(conn.get(), conn).second;
        }
        if (registered) asio::post(worker.ctx, [conn = std::move(conn)] { conn->Start(); });
        AcceptLoop(acceptor);
      });
}

void Proxy::Stop() {
  std::map<Connection*, std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(core_->mu);
    core_->accepting = false;
    conns.swap(core_->conns);
  }
  if (acceptor_) {
    auto acceptor = std::move(acceptor_);
    plane_.RunOn(home_, [acceptor] {
      error_code ignored;
      acceptor->close(ignored);
    });
    obs::Log(obs::LogLevel::kInfo, "proxy stopped", {{"proxy", spec_.name}});
  }
  spec_.enabled = false;
  // The lambdas hold the last references: a connection is destroyed on its
  // own worker, never here.
  for (auto& [ptr, conn] : conns) {
    Worker& w = conn->worker();
    asio::post(w.ctx, [conn = std::move(conn)] { conn->Abort(false); });
  }
}

json Proxy::ToJson() const {
  json j = ProxyToJson(spec_);
  j["toxics"] = ToxicsJson();
  return j;
}

ApiReply Proxy::Update(const json& body) {
  auto next = UpdateProxy(spec_, body);
  if (!next.ok()) return next.error();
  const bool moved = next->listen != spec_.listen || next->upstream != spec_.upstream;
  if (moved && acceptor_) Stop();
  spec_.listen = next->listen;
  spec_.upstream = next->upstream;
  {
    std::lock_guard lock(core_->mu);
    core_->upstream = spec_.upstream;
  }
  if (next->enabled) {
    ApiReply r = Start();
    if (!r.ok()) return r;
  } else {
    Stop();
  }
  return ApiReply{200, ToJson()};
}

json Proxy::ToxicsJson() const {
  json out = json::array();
  // Toxiproxy lists upstream toxics, then downstream, each in creation order.
  for (Stream s : {Stream::kUpstream, Stream::kDownstream}) {
    for (const auto& t : toxics_) {
      if (t->spec.stream == s) out.push_back(ToxicToJson(t->spec));
    }
  }
  return out;
}

std::size_t Proxy::FindToxic(const std::string& name) const {
  for (std::size_t i = 0; i < toxics_.size(); ++i) {
    if (toxics_[i]->spec.name == name) return i;
  }
  return std::string::npos;
}

ApiReply Proxy::AddToxic(ToxicSpec toxic) {
  if (FindToxic(toxic.name) != std::string::npos) {
    return ApiReply::Error(409, kErrToxicAlreadyExists);
  }
  json j = ToxicToJson(toxic);
  toxics_.push_back(std::make_shared<const ToxicEntry>(ToxicEntry{next_toxic_id_++, std::move(toxic)}));
  Publish();
  return ApiReply{200, std::move(j)};
}

ApiReply Proxy::GetToxic(const std::string& name) const {
  std::size_t i = FindToxic(name);
  if (i == std::string::npos) return ApiReply::Error(404, kErrToxicNotFound);
  return ApiReply{200, ToxicToJson(toxics_[i]->spec)};
}

ApiReply Proxy::UpdateToxic(const std::string& name, const json& body) {
  std::size_t i = FindToxic(name);
  if (i == std::string::npos) return ApiReply::Error(404, kErrToxicNotFound);
  auto spec = chaos::UpdateToxic(toxics_[i]->spec, body);
  if (!spec.ok()) return spec.error();
  toxics_[i] = std::make_shared<const ToxicEntry>(ToxicEntry{toxics_[i]->id, *spec});
  Publish();
  return ApiReply{200, ToxicToJson(*spec)};
}

ApiReply Proxy::RemoveToxic(const std::string& name) {
  std::size_t i = FindToxic(name);
  if (i == std::string::npos) return ApiReply::Error(404, kErrToxicNotFound);
  toxics_.erase(toxics_.begin() + static_cast<std::ptrdiff_t>(i));
  Publish();
  return ApiReply{204, {}};
}

void Proxy::RemoveAllToxics() {
  if (toxics_.empty()) return;
  toxics_.clear();
  Publish();
}

void Proxy::Publish() {
  auto snapshot = std::make_shared<const ToxicList>(toxics_);
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(core_->mu);
    core_->toxics = snapshot;
    for (auto& [ptr, conn] : core_->conns) conns.push_back(conn);
  }
  core_->metrics.toxics_active->Set(static_cast<double>(toxics_.size()));
  for (auto& conn : conns) {
    Worker& w = conn->worker();
    asio::post(w.ctx, [conn = std::move(conn)] { conn->RefreshToxics(); });
  }
}

}  // namespace keel::chaos
