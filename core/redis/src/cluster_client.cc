#include "keel/redis/cluster_client.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <mutex>

#include "command_keys.h"
#include "errors.h"
#include "keel/base/units.h"
#include "keel/obs/log.h"
#include "keel/redis/slot.h"
#include "metrics.h"
#include "node.h"
#include "protocol.h"
#include "topology.h"

namespace keel::redis {

namespace asio = boost::asio;
using internal::Node;

namespace {

// One Exec, across its redirects.
struct Call {
  std::string bytes;
  int slot = -1;  // -1: no key, any node
  Clock::time_point deadline;
  int redirects = 0;
  Callback done;
};

std::string Encode(std::initializer_list<std::string_view> args) {
  return internal::EncodeCommand(std::span<const std::string_view>(args.begin(), args.size()));
}

}  // namespace

class ClusterClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, ClusterOptions options, obs::Registry& registry)
      : io_(io),
        options_(std::move(options)),
        registry_(registry),
        metrics_(internal::ClusterMetrics::For(registry)),
        slots_(kClusterSlots, nullptr),
        refresh_timer_(io),
        asking_(Encode({"ASKING"})),
        cluster_slots_(Encode({"CLUSTER", "SLOTS"})) {}

  Status AddSeeds();
  void Submit(std::span<const std::string_view> args, const CallOptions& options, Callback done);
  void Send(const std::shared_ptr<Call>& call, Node* target, bool asking);
  void OnResult(const std::shared_ptr<Call>& call, Node* node, StatusOr<Reply> result);
  // Io thread; `waiter` (may be empty) gets the outcome.
  void RequestRefresh(std::function<void(Status)> waiter);
  void Shutdown();
  std::string PrimaryFor(int slot) const;
  Duration command_timeout() const { return options_.command_timeout; }
  asio::io_context& io() { return io_; }

 private:
  Node* NodeFor(const std::string& host, std::uint16_t port);  // creates; locks mu_
  Node* Route(int slot);
  void StartRefresh();
  void TryRefresh(std::vector<Node*> candidates, std::size_t i);
  // Replaces the slot map with a CLUSTER SLOTS reply from `from`.
  Status Install(const Reply& slots, const Node& from);
  void FinishRefresh(Status status);

  asio::io_context& io_;
  const ClusterOptions options_;
  obs::Registry& registry_;
  const internal::ClusterMetrics metrics_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> nodes_;  // GUARDED_BY(mu_); never shrinks
  std::vector<Node*> slots_;                            // GUARDED_BY(mu_); nullptr: unknown
  std::vector<Node*> primaries_;                        // GUARDED_BY(mu_); seeds until a map
  std::atomic<std::size_t> any_{0};  // round-robin over primaries_ for keyless commands

  // Io thread only.
  bool shut_down_ = false;
  bool refreshing_ = false;
  bool refresh_again_ = false;
  bool refresh_timer_armed_ = false;
  bool last_refresh_ok_ = true;
  Clock::time_point last_refresh_{};
  std::vector<std::function<void(Status)>> waiters_;
  std::size_t refresh_cursor_ = 0;
  asio::steady_timer refresh_timer_;

  const std::string asking_;
  const std::string cluster_slots_;
};

Status ClusterClient::Impl::AddSeeds() {
  for (const std::string& seed : options_.seeds) {
    auto hp = ParseHostPort(seed);
    if (!hp.ok()) return InvalidArgument("redis: bad cluster seed '" + seed + "'");
    if (hp->port == 0) return InvalidArgument("redis: cluster seed needs a port: '" + seed + "'");
    Node* n = NodeFor(hp->host, hp->port);
    std::lock_guard lock(mu_);
    primaries_.push_back(n);
  }
  return Status::Ok();
}

Node* ClusterClient::Impl::NodeFor(const std::string& host, std::uint16_t port) {
  const std::string name = internal::ServerName(host, port);
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it != nodes_.end()) return it->second.get();
  ClientOptions o;
  o.host = host;
  o.port = port;
  o.username = options_.username;
  o.password = options_.password;
  o.connect_timeout = options_.connect_timeout;
  o.command_timeout = options_.command_timeout;
  o.pool_size = options_.pool_size;
  o.reconnect_backoff_min = options_.reconnect_backoff_min;
  o.reconnect_backoff_max = options_.reconnect_backoff_max;
  auto node = Node::Make(io_, o, registry_);
  Node* raw = node.get();
  nodes_.emplace(name, std::move(node));
  return raw;
}

Node* ClusterClient::Impl::Route(int slot) {
  std::lock_guard lock(mu_);
  if (slot >= 0 && slots_[static_cast<std::size_t>(slot)] != nullptr) {
    return slots_[static_cast<std::size_t>(slot)];
  }
  if (primaries_.empty()) return nodes_.begin()->second.get();
  return primaries_[any_.fetch_add(1, std::memory_order_relaxed) % primaries_.size()];
}

std::string ClusterClient::Impl::PrimaryFor(int slot) const {
  if (slot < 0 || slot >= kClusterSlots) return "";
  std::lock_guard lock(mu_);
  Node* n = slots_[static_cast<std::size_t>(slot)];
  return n != nullptr ? n->server() : "";
}

void ClusterClient::Impl::Submit(std::span<const std::string_view> args, const CallOptions& options,
                                 Callback done) {
  if (args.empty()) {
    asio::post(io_, [weak = weak_from_this(), done = std::move(done)] {
      auto self = weak.lock();
      if (self && !self->shut_down_) done(InvalidArgument("redis: empty command"));
    });
    return;
  }
  auto call = std::make_shared<Call>();
  call->bytes = internal::EncodeCommand(args);
  std::optional<std::string_view> key;
  if (!options.routing_key.empty()) {
    key = options.routing_key;
  } else {
    key = internal::FirstKey(args);
  }
  call->slot = key ? KeySlot(*key) : -1;
  call->deadline =
      SystemClock::Default().Now() +
      (options.timeout > Duration::zero() ? options.timeout : options_.command_timeout);
  call->done = std::move(done);
  Send(call, nullptr, false);
}

void ClusterClient::Impl::Send(const std::shared_ptr<Call>& call, Node* target, bool asking) {
  Node* node = target != nullptr ? target : Route(call->slot);
  internal::Request r;
  r.bytes = asking ? asking_ + call->bytes : call->bytes;
  r.skip_replies = asking ? 1 : 0;
  r.start = SystemClock::Default().Now();
  r.deadline = call->deadline;
  std::weak_ptr<Impl> weak = weak_from_this();
  r.done = [weak, call, node](StatusOr<Reply> result) {
    if (auto self = weak.lock()) self->OnResult(call, node, std::move(result));
  };
  node->Submit(std::move(r));
}

void ClusterClient::Impl::OnResult(const std::shared_ptr<Call>& call, Node* node,
                                   StatusOr<Reply> result) {
  if (!result.ok()) {
    if (ErrorKindOf(result.status()) == ErrorKind::kConnection) RequestRefresh(nullptr);
    call->done(std::move(result));
    return;
  }
  if (result->is_error()) {
    if (auto redirect = internal::ParseRedirect(result->str)) {
      if (++call->redirects > options_.max_redirects) {
        metrics_.exhausted->Inc();
        call->done(internal::RedirectsError(options_.max_redirects, result->str));
        return;
      }
      (redirect->ask ? metrics_.ask : metrics_.moved)->Inc();
      Node* to =
          NodeFor(redirect->host.empty() ? node->options().host : redirect->host, redirect->port);
      if (!redirect->ask) {
        {
          std::lock_guard lock(mu_);
          slots_[static_cast<std::size_t>(redirect->slot)] = to;
        }
        RequestRefresh(nullptr);
      }
      Send(call, to, redirect->ask);
      return;
    }
    if (result->IsErrorCode("CLUSTERDOWN")) RequestRefresh(nullptr);
  }
  call->done(std::move(result));
}

void ClusterClient::Impl::RequestRefresh(std::function<void(Status)> waiter) {
  if (shut_down_) return;
  const bool asked = static_cast<bool>(waiter);
  if (asked) waiters_.push_back(std::move(waiter));
  if (refreshing_) {
    refresh_again_ = refresh_again_ || !asked;
    return;
  }
  const auto now = SystemClock::Default().Now();
  const auto next = last_refresh_ + options_.refresh_min_interval;
  if (asked || last_refresh_ == Clock::time_point{} || now >= next) {
    StartRefresh();
    return;
  }
  if (refresh_timer_armed_) return;
  refresh_timer_armed_ = true;
  refresh_timer_.expires_at(next);
  std::weak_ptr<Impl> weak = weak_from_this();
  refresh_timer_.async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec || self->shut_down_) return;
    self->refresh_timer_armed_ = false;
    if (!self->refreshing_) self->StartRefresh();
  });
}

void ClusterClient::Impl::StartRefresh() {
  refreshing_ = true;
  std::vector<Node*> candidates;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, node] : nodes_) candidates.push_back(node.get());
  }
  // Nodes that are up first, and a different one first each time.
  std::rotate(
      candidates.begin(),
      candidates.begin() + static_cast<std::ptrdiff_t>(refresh_cursor_++ % candidates.size()),
      candidates.end());
  std::stable_partition(candidates.begin(), candidates.end(), [](Node* n) { return n->ready(); });
  TryRefresh(std::move(candidates), 0);
}

void ClusterClient::Impl::TryRefresh(std::vector<Node*> candidates, std::size_t i) {
  Node* node = candidates[i];
  internal::Request r;
  r.bytes = cluster_slots_;
  r.start = SystemClock::Default().Now();
  r.deadline = r.start + options_.refresh_timeout;
  std::weak_ptr<Impl> weak = weak_from_this();
  r.done = [weak, candidates = std::move(candidates), i, node](StatusOr<Reply> result) mutable {
    auto self = weak.lock();
    if (!self || self->shut_down_) return;
    Status installed = result.ok() ? self->Install(*result, *node) : result.status();
    if (installed.ok()) {
      self->FinishRefresh(installed);
    } else if (i + 1 < candidates.size()) {
      self->TryRefresh(std::move(candidates), i + 1);
    } else {
      self->FinishRefresh(installed);
    }
  };
  node->Submit(std::move(r));
}

Status ClusterClient::Impl::Install(const Reply& slots, const Node& from) {
  auto ranges = internal::ParseClusterSlots(slots);
  if (!ranges.ok()) return ranges.status();
  if (ranges->empty()) return Unavailable("redis: CLUSTER SLOTS: no slots served");
  std::vector<std::pair<const internal::SlotRange*, Node*>> owners;
  for (const auto& range : *ranges) {
    // An empty host is "the node you asked".
    owners.emplace_back(&range,
                        NodeFor(range.host.empty() ? from.options().host : range.host, range.port));
  }
  std::lock_guard lock(mu_);
  std::fill(slots_.begin(), slots_.end(), nullptr);
  primaries_.clear();
  for (const auto& [range, owner] : owners) {
    std::fill(slots_.begin() + range->first, slots_.begin() + range->last + 1, owner);
    if (std::find(primaries_.begin(), primaries_.end(), owner) == primaries_.end()) {
      primaries_.push_back(owner);
    }
  }
  metrics_.nodes->Set(static_cast<double>(primaries_.size()));
  return Status::Ok();
}

void ClusterClient::Impl::FinishRefresh(Status status) {
  refreshing_ = false;
  last_refresh_ = SystemClock::Default().Now();
  (status.ok() ? metrics_.refresh_ok : metrics_.refresh_error)->Inc();
  if (!status.ok() && last_refresh_ok_) {  // one warning per outage
    obs::Log(obs::LogLevel::kWarn, "redis cluster topology refresh failed",
             {{"error", status.message()}});
  }
  last_refresh_ok_ = status.ok();
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) {
    w(status);
    if (shut_down_) return;
  }
  if (refresh_again_ || !status.ok()) {
    refresh_again_ = false;
    RequestRefresh(nullptr);  // rate-limited: after refresh_min_interval
  }
}

void ClusterClient::Impl::Shutdown() {
  shut_down_ = true;
  refresh_timer_.cancel();
  waiters_.clear();
  std::map<std::string, std::shared_ptr<Node>> nodes;
  {
    std::lock_guard lock(mu_);
    nodes = nodes_;
  }
  for (auto& [name, node] : nodes) node->Shutdown();
}

StatusOr<std::unique_ptr<ClusterClient>> ClusterClient::Create(asio::io_context& io,
                                                               ClusterOptions options,
                                                               obs::Registry& registry) {
  if (options.seeds.empty()) return InvalidArgument("redis: a cluster needs at least one seed");
  if (options.max_redirects < 0) return InvalidArgument("redis: max_redirects must be >= 0");
  if (options.refresh_min_interval < Duration::zero() ||
      options.refresh_timeout <= Duration::zero()) {
    return InvalidArgument("redis: refresh_timeout must be > 0, refresh_min_interval >= 0");
  }
  ClientOptions check;
  check.username = options.username;
  check.password = options.password;
  check.connect_timeout = options.connect_timeout;
  check.command_timeout = options.command_timeout;
  check.pool_size = options.pool_size;
  check.reconnect_backoff_min = options.reconnect_backoff_min;
  check.reconnect_backoff_max = options.reconnect_backoff_max;
  if (Status s = ValidateClientOptions(check); !s.ok()) return s;
  auto impl = std::make_shared<Impl>(io, std::move(options), registry);
  if (Status s = impl->AddSeeds(); !s.ok()) {
    impl->Shutdown();
    return s;
  }
  asio::post(io, [weak = std::weak_ptr<Impl>(impl)] {
    if (auto self = weak.lock()) self->RequestRefresh(nullptr);
  });
  return std::unique_ptr<ClusterClient>(new ClusterClient(std::move(impl)));
}

ClusterClient::ClusterClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClusterClient::~ClusterClient() { impl_->Shutdown(); }

void ClusterClient::RefreshTopology(std::function<void(Status)> done) {
  asio::post(impl_->io(), [weak = std::weak_ptr<Impl>(impl_), done = std::move(done)]() mutable {
    if (auto self = weak.lock()) self->RequestRefresh(std::move(done));
  });
}

std::string ClusterClient::PrimaryFor(int slot) const { return impl_->PrimaryFor(slot); }
std::string ClusterClient::ShardOf(std::string_view key) const { return impl_->PrimaryFor(KeySlot(key)); }

Duration ClusterClient::command_timeout() const { return impl_->command_timeout(); }

void ClusterClient::Submit(std::span<const std::string_view> args, const CallOptions& options,
                           Callback done) {
  impl_->Submit(args, options, std::move(done));
}

}  // namespace keel::redis
