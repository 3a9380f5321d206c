// Child processes, ports and temp dirs for the test fixtures (Redis,
// PostgreSQL, NATS servers started by tests).
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::testing {

// Starts argv[0] (a path) with stdin from /dev/null and stdout/stderr
// appended to `log_path`. The child dies with the thread that started it
// (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
// With `run_as` (a user name), the child drops to that user's uid and gid
// first (the caller must be root): PostgreSQL refuses to run as root.
StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                      const std::string& run_as = "");
// True once `pid` has exited (reaped); *status gets its wait status.
bool Reaped(pid_t pid, int* status = nullptr);
// Sends `sig`, then waits up to `grace` for the exit, then SIGKILLs and waits.
void Terminate(pid_t pid, int sig, Duration grace);
// Runs argv to completion (killed after `timeout`); its exit code, or -1.
StatusOr<int> Run(const std::vector<std::string>& argv, const std::string& log_path,
                  Duration timeout, const std::string& run_as = "");
// The user to run servers as that refuse root (PostgreSQL): "" when this
// process is not root, else `fallback` (e.g. "postgres").
std::string UnprivilegedUser(const std::string& fallback);
// chown -R path to `user` (no-op for ""). OK or Unavailable.
Status ChownTree(const std::string& path, const std::string& user);

// 127.0.0.1:port as a socket address (port 0: any free port).
sockaddr_in LoopbackAddress(std::uint16_t port);

// A loopback TCP port free right now (bound to 0 and released). With
// `bus_too`, port + 10000 (Redis Cluster's bus) is free as well.
StatusOr<std::uint16_t> FreePort(bool bus_too);
// A new directory under $TMPDIR (or /tmp).
StatusOr<std::string> MakeTempDir(const std::string& prefix);
// The last `bytes` of a file, for error messages.
std::string Tail(const std::string& path, std::size_t bytes = 2000);

}  // namespace keel::testing
