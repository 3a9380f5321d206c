#include "keel/redis/testing/redis_server.h"

#include <hiredis/hiredis.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "keel/base/clock.h"
#include "keel/testing/process.h"

namespace keel::redis::testing {

using namespace keel::testing;  // NOLINT(google-build-using-namespace): process helpers

namespace {

Reply FromHiredis(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(r->integer);
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return Reply::StatusReply(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR:
      return Reply::ErrorReply(std::string(r->str, r->len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      for (std::size_t i = 0; i < r->elements; ++i) elements.push_back(FromHiredis(r->element[i]));
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Nil();
  }
}

timeval ToTimeval(Duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

StatusOr<Reply> CallAt(const std::string& host, std::uint16_t port, const std::string& password,
                       const std::vector<std::string>& args, Duration timeout) {
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, ToTimeval(timeout));
  if (c == nullptr || c->err) {
    std::string why = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    return Unavailable("connect " + host + ":" + std::to_string(port) + ": " + why);
  }
  redisSetTimeout(c, ToTimeval(timeout));
  auto command = [&](const std::vector<std::string>& a) -> StatusOr<Reply> {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& s : a) {
      argv.push_back(s.data());
      lens.push_back(s.size());
    }
    void* raw = redisCommandArgv(c, static_cast<int>(a.size()), argv.data(), lens.data());
    if (raw == nullptr) return Unavailable(std::string("redis: ") + c->errstr);
    auto* reply = static_cast<redisReply*>(raw);
    Reply out = FromHiredis(reply);
    freeReplyObject(reply);
    return out;
  };
  if (!password.empty()) {
    auto auth = command({"AUTH", password});
    if (!auth.ok() || auth->is_error()) {
      redisFree(c);
      return auth.ok() ? Unavailable("AUTH: " + auth->str) : auth.status();
    }
  }
  auto result = command(args);
  redisFree(c);
  return result;
}

}  // namespace

StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(RedisServerOptions options) {
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {  // a port can be taken between pick and bind
    auto port = FreePort(options.cluster);
    if (!port.ok()) return port.status();
    auto dir = MakeTempDir("keel-redis-");  // a failed attempt removes its own
    if (!dir.ok()) return dir.status();
    std::unique_ptr<RedisServer> server(new RedisServer(options, *dir, *port));
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last;
}

RedisServer::RedisServer(RedisServerOptions options, std::string dir, std::uint16_t port)
    : options_(std::move(options)), dir_(std::move(dir)), port_(port) {}

RedisServer::~RedisServer() {
  Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::address() const { return host() + ":" + std::to_string(port_); }

std::vector<std::string> RedisServer::Argv() const {
  std::vector<std::string> argv = {options_.binary,
                                   "--bind",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(port_),
                                   "--dir",
                                   dir_,
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--protected-mode",
                                   "no",
                                   "--daemonize",
                                   "no",
                                   "--logfile",
                                   dir_ + "/redis.log"};
  if (!options_.password.empty()) {
    argv.insert(argv.end(),
                {"--requirepass", options_.password, "--masterauth", options_.password});
  }
  if (options_.cluster) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.cluster_node_timeout);
    argv.insert(argv.end(), {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                             "--cluster-node-timeout", std::to_string(ms.count())});
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  return argv;
}

Status RedisServer::Launch() {
  auto pid = Spawn(Argv(), dir_ + "/stdout.log");
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const auto until = SystemClock::Default().Now() + options_.start_timeout;
  while (true) {
    if (Reaped(pid_)) {
      pid_ = -1;
      return Unavailable("redis-server on port " + std::to_string(port_) +
                         " exited: " + Tail(dir_ + "/redis.log") + Tail(dir_ + "/stdout.log"));
    }
    // INFO rather than PING: the answer must come from this process, not from
    // another test's server that took the port first.
    auto info = Call({"INFO", "server"}, std::chrono::milliseconds(200));
    if (info.ok() && info->type == ReplyType::kString &&
        info->str.find("process_id:" + std::to_string(pid_) + "\r") != std::string::npos) {
      return Status::Ok();
    }
    if (SystemClock::Default().Now() >= until) {
      Stop();
      return Unavailable("redis-server on port " + std::to_string(port_) +
                         " not ready: " + Tail(dir_ + "/redis.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  Terminate(pid_, SIGTERM, std::chrono::seconds(5));
  pid_ = -1;
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  Terminate(pid_, SIGKILL, std::chrono::seconds(5));
  pid_ = -1;
}

Status RedisServer::Restart() {
  if (running()) return InvalidArgument("redis-server is running");
  return Launch();
}

StatusOr<Reply> RedisServer::Call(const std::vector<std::string>& args, Duration timeout) const {
  return CallAt(host(), port_, options_.password, args, timeout);
}

}  // namespace keel::redis::testing
