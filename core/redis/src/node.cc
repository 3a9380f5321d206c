#include "node.h"

#include <boost/asio/post.hpp>
#include <functional>

#include "errors.h"

namespace keel::redis::internal {

namespace asio = boost::asio;

std::string ServerName(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::shared_ptr<Node> Node::Make(asio::io_context& io, const ClientOptions& options,
                                 obs::Registry& registry) {
  auto config = std::make_shared<NodeConfig>();
  config->options = options;
  config->server = ServerName(options.host, options.port);
  auto node = std::make_shared<Node>(io, config, ServerMetrics::For(registry, config->server));
  // Connections start on the loop: Make may run on another thread while it runs.
  asio::post(io, [node] {
    if (node->shut_down_) return;
    for (auto& c : node->conns_) c->Start();
  });
  return node;
}

Node::Node(asio::io_context& io, std::shared_ptr<const NodeConfig> config,
           const ServerMetrics& metrics)
    : io_(io), config_(std::move(config)), metrics_(metrics) {
  const std::uint64_t seed = std::hash<std::string>{}(config_->server) ^
                             static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(this));
  for (std::size_t i = 0; i < config_->options.pool_size; ++i) {
    conns_.push_back(std::make_shared<Connection>(io, config_, metrics_, seed + i));
  }
}

void Node::Submit(Request request) {
  bool post = false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(request));
    if (!flush_posted_) post = flush_posted_ = true;
  }
  if (post) asio::post(io_, [self = shared_from_this()] { self->Flush(); });
}

void Node::Reject(Callback done, Status status) {
  asio::post(io_, [self = shared_from_this(), done = std::move(done),
                   status = std::move(status)]() mutable {
    if (!self->shut_down_) done(std::move(status));
  });
}

bool Node::ready() const {
  for (const auto& c : conns_) {
    if (c->ready()) return true;
  }
  return false;
}

Connection* Node::Pick() {
  const std::size_t n = conns_.size();
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = (next_ + i) % n;
      Connection* c = conns_[k].get();
      if (pass == 0 ? c->ready() : c->usable()) {
        next_ = (k + 1) % n;
        return c;
      }
    }
  }
  return nullptr;
}

void Node::Flush() {
  std::vector<Request> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(queue_);
    flush_posted_ = false;
  }
  if (shut_down_) return;
  const auto now = SystemClock::Default().Now();
  Connection* conn = Pick();
  std::string down;
  if (conn == nullptr) {  // every connection waits out a backoff: say why
    down = "not up (reconnecting)";
    if (!conns_.empty() && !conns_.front()->last_error().empty()) {
      down += " after: " + conns_.front()->last_error();
    }
  }
  for (Request& r : batch) {
    if (shut_down_) return;  // a callback destroyed the client
    if (conn == nullptr) {
      metrics_.connection->Inc();
      r.done(ConnectionError(config_->server, down));
    } else if (r.deadline <= now) {
      metrics_.timeout->Inc();
      r.done(TimeoutError(config_->server, r.deadline - r.start));
    } else {
      conn->Enqueue(std::move(r));
    }
  }
  if (conn != nullptr && !shut_down_) conn->Kick();
}

void Node::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& c : conns_) c->Close();
  std::lock_guard lock(mu_);
  queue_.clear();
}

}  // namespace keel::redis::internal
