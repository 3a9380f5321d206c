#include "keel/nats/testing/nats_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "keel/base/clock.h"
#include "keel/testing/process.h"

namespace keel::nats::testing {

namespace {

constexpr const char* kBinary = "/usr/sbin/nats-server";  // Debian installs it in sbin

// True once the server greets a TCP client with its INFO line.
bool Greets(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = keel::testing::LoopbackAddress(port);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[5] = {};
    ok = ::recv(fd, buf, 4, MSG_WAITALL) == 4 && std::string(buf, 4) == "INFO";
  }
  ::close(fd);
  return ok;
}

}  // namespace

StatusOr<std::unique_ptr<NatsServer>> NatsServer::Start() {
  if (!std::filesystem::exists(kBinary)) {
    return NotFound(std::string(kBinary) + " is missing (apt install nats-server)");
  }
  std::unique_ptr<NatsServer> s(new NatsServer());
  auto dir = keel::testing::MakeTempDir("keel-nats-");
  if (!dir.ok()) return dir.status();
  s->dir_ = *dir;
  auto port = keel::testing::FreePort(false);
  if (!port.ok()) return port.status();
  s->port_ = *port;
  if (Status l = s->Launch(); !l.ok()) return l;
  return s;
}

NatsServer::~NatsServer() {
  Stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

Status NatsServer::Launch() {
  auto pid = keel::testing::Spawn({kBinary, "-a", "127.0.0.1", "-p", std::to_string(port_), "-js",
                                   "-sd", dir_ + "/js", "-n", "keel-test"},
                                  dir_ + "/nats.log");
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const auto until = SystemClock::Default().Now() + std::chrono::seconds(30);
  while (SystemClock::Default().Now() < until) {
    if (keel::testing::Reaped(pid_)) {
      pid_ = -1;
      return Unavailable("nats-server exited at start: " + keel::testing::Tail(dir_ + "/nats.log"));
    }
    if (Greets(port_)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Unavailable("nats-server not ready within 30s: " + keel::testing::Tail(dir_ + "/nats.log"));
}

void NatsServer::Stop() {
  if (pid_ > 0) keel::testing::Terminate(pid_, SIGTERM, std::chrono::seconds(10));
  pid_ = -1;
}

void NatsServer::Kill() {
  if (pid_ > 0) keel::testing::Terminate(pid_, SIGKILL, std::chrono::seconds(10));
  pid_ = -1;
}

Status NatsServer::Resume() { return pid_ > 0 ? Status::Ok() : Launch(); }

}  // namespace keel::nats::testing
