#include "keel/redis/client.h"

#include "node.h"
#include "protocol.h"

namespace keel::redis {

Status ValidateClientOptions(const ClientOptions& o) {
  if (o.host.empty()) return InvalidArgument("redis: host is empty");
  if (o.port == 0) return InvalidArgument("redis: port must be 1..65535");
  if (o.pool_size < 1 || o.pool_size > 64) return InvalidArgument("redis: pool_size must be 1..64");
  if (o.db < 0) return InvalidArgument("redis: db must be >= 0");
  if (o.connect_timeout <= Duration::zero() || o.command_timeout <= Duration::zero()) {
    return InvalidArgument("redis: connect_timeout and command_timeout must be > 0");
  }
  if (o.reconnect_backoff_min <= Duration::zero() ||
      o.reconnect_backoff_max < o.reconnect_backoff_min) {
    return InvalidArgument("redis: need 0 < reconnect_backoff_min <= reconnect_backoff_max");
  }
  if (!o.username.empty() && o.password.empty()) {
    return InvalidArgument("redis: username needs a password");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Client>> Client::Create(boost::asio::io_context& io,
                                                 ClientOptions options,
                                                 obs::Registry& registry) {
  if (Status s = ValidateClientOptions(options); !s.ok()) return s;
  auto node = internal::Node::Make(io, options, registry);
  std::string server = node->server();
  return std::unique_ptr<Client>(new Client(std::move(node), std::move(server)));
}

Client::Client(std::shared_ptr<internal::Node> node, std::string server)
    : node_(std::move(node)), server_(std::move(server)) {}

Client::~Client() { node_->Shutdown(); }

Duration Client::command_timeout() const { return node_->options().command_timeout; }

void Client::Submit(std::span<const std::string_view> args, const CallOptions& options,
                    Callback done) {
  if (args.empty()) {
    node_->Reject(std::move(done), InvalidArgument("redis: empty command"));
    return;
  }
  internal::Request r;
  r.bytes = internal::EncodeCommand(args);
  r.start = SystemClock::Default().Now();
  r.deadline = r.start + (options.timeout > Duration::zero() ? options.timeout
                                                             : node_->options().command_timeout);
  r.done = std::move(done);
  node_->Submit(std::move(r));
}

}  // namespace keel::redis
