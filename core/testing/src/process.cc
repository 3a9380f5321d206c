#include "keel/testing/process.h"

#include <grp.h>
#include <pwd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "keel/base/clock.h"

namespace keel::testing {

StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                      const std::string& run_as) {
  if (argv.empty()) return InvalidArgument("empty command");
  uid_t uid = 0;
  gid_t gid = 0;
  if (!run_as.empty()) {
    const passwd* pw = ::getpwnam(run_as.c_str());
    if (pw == nullptr) return NotFound("no user " + run_as);
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Unavailable("cannot open " + log_path + ": " + std::strerror(errno));
  // Built before fork: after it the child only makes async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Unavailable(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    if (!run_as.empty() && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
      ::_exit(126);
    }
    // After the uid change: changing credentials clears the death signal.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return pid;
}

bool Reaped(pid_t pid, int* status) {
  int st = 0;
  const pid_t r = ::waitpid(pid, &st, WNOHANG);
  if (r == pid || (r < 0 && errno == ECHILD)) {
    if (status != nullptr) *status = st;
    return true;
  }
  return false;
}

namespace {

bool WaitReaped(pid_t pid, Duration timeout, int* status) {
  const auto until = SystemClock::Default().Now() + timeout;
  while (!Reaped(pid, status)) {
    if (SystemClock::Default().Now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

void Terminate(pid_t pid, int sig, Duration grace) {
  ::kill(pid, sig);
  if (WaitReaped(pid, grace, nullptr)) return;
  ::kill(pid, SIGKILL);
  WaitReaped(pid, std::chrono::seconds(10), nullptr);
}

StatusOr<int> Run(const std::vector<std::string>& argv, const std::string& log_path,
                  Duration timeout, const std::string& run_as) {
  auto pid = Spawn(argv, log_path, run_as);
  if (!pid.ok()) return pid.status();
  int status = 0;
  if (!WaitReaped(*pid, timeout, &status)) {
    Terminate(*pid, SIGKILL, std::chrono::seconds(1));
    return Unavailable(argv[0] + " did not finish within " + FormatDuration(timeout));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

sockaddr_in LoopbackAddress(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

namespace {

bool Bindable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = LoopbackAddress(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

StatusOr<std::uint16_t> FreePort(bool bus_too) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr = LoopbackAddress(0);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      return Unavailable(std::string("bind: ") + std::strerror(errno));
    }
    ::close(fd);
    const std::uint16_t port = ntohs(addr.sin_port);
    if (!bus_too) return port;
    if (port < 55535 && Bindable(static_cast<std::uint16_t>(port + 10000))) return port;
  }
  return Unavailable("no free port pair for a cluster node");
}

StatusOr<std::string> MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return Unavailable("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  return templ;
}

std::string UnprivilegedUser(const std::string& fallback) {
  return ::geteuid() == 0 ? fallback : std::string();
}

Status ChownTree(const std::string& path, const std::string& user) {
  if (user.empty()) return Status::Ok();
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) return NotFound("no user " + user);
  std::error_code ec;
  auto chown_one = [&](const std::filesystem::path& p) {
    return ::chown(p.c_str(), pw->pw_uid, pw->pw_gid) == 0;
  };
  if (!chown_one(path)) return Unavailable("chown " + path + ": " + std::strerror(errno));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path, ec)) {
    if (!chown_one(entry.path())) {
      return Unavailable("chown " + entry.path().string() + ": " + std::strerror(errno));
    }
  }
  if (ec) return Unavailable("walk " + path + ": " + ec.message());
  return Status::Ok();
}

std::string Tail(const std::string& path, std::size_t bytes) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace keel::testing
