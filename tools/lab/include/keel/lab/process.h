// Child processes the lab starts and must stop: each runs in its own process
// group with stdout and stderr appended to a log file, and is killed with
// SIGKILL by the kernel if the lab itself dies (PR_SET_PDEATHSIG), so a
// crashed or killed lab leaves nothing behind.
//
//   auto p = Child::Start({"redis-server", "--port", "6400"}, {}, "out/logs/redis.log");
//   if (!p.ok()) return p.status();
//   ...
//   (*p)->Stop(SIGTERM, std::chrono::seconds(10));  // SIGKILL after the grace
//
// Thread-safety: a Child is used from one thread. Start() forks: call it from
// the thread that lives as long as the children (PDEATHSIG follows it).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::lab {

class Child {
 public:
  // Errors: Unavailable when the log cannot be opened or the program cannot
  // be executed (reported by the child through a close-on-exec pipe).
  static StatusOr<std::unique_ptr<Child>> Start(const std::vector<std::string>& argv,
                                                const std::map<std::string, std::string>& env,
                                                const std::string& log_path);
  ~Child();  // stops the child (SIGKILL) if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Sends `signal` to the child's process group and to every descendant
  // (also those that left the group with setsid(), as PostgreSQL's backends
  // do); a SIGKILL stops them all first, as a host that dies. No-op once it
  // exited.
  void Signal(int signal);
  // True while it has not exited (reaps it when it has).
  bool Running();
  // Sends `signal`, waits up to `grace`, then SIGKILLs the group and waits.
  // Returns the exit status as from waitpid (see exit_code()).
  void Stop(int signal, Duration grace);
  // Waits up to `timeout` for it to exit on its own; true when it did.
  bool Wait(Duration timeout);

  pid_t pid() const { return pid_; }
  // Exit code, or 128 + signal number when killed; unset while running.
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  void Reaped(int wait_status);

  pid_t pid_;
  std::optional<int> exit_code_;
};

}  // namespace keel::lab
