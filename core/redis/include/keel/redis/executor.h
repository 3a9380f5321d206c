// Executor: what Client (one Redis server) and ClusterClient (Redis Cluster)
// have in common — run one command, get its reply later — so that code such
// as the script helper (keel/redis/script.h) and the rate limiter's store work
// against either.
//
//   executor.Exec({"INCR", key}, [](StatusOr<Reply> r) {
//     if (!r.ok()) return Degrade(r.status());      // timeout, connection lost, ...
//     if (r->is_error()) return Fail(r->str);        // Redis said no
//     Use(r->integer);
//   });
//   executor.Exec({"GET", key}, {.timeout = std::chrono::milliseconds(20)}, OnGet);
//
// Errors: the callback gets a failed Status (code kUnavailable, or
// kInvalidArgument for an empty command) when no reply came; ErrorKindOf()
// tells the reasons apart. A reply that came, error replies included, is OK.
//
// Thread-safety: implementations document theirs (both clients: Exec from any
// thread, callbacks on the client's io_context thread, exactly once per Exec,
// never inside Exec).
#pragma once

#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/redis/reply.h"

namespace keel::redis {

using Callback = std::function<void(StatusOr<Reply>)>;

struct CallOptions {
  // 0: the client's command_timeout. Counted from Exec() to the reply, across
  // cluster redirects and script reloads.
  Duration timeout{0};
  // Cluster only: route by this key instead of the command's first key (for
  // commands whose keys the client cannot find, e.g. SCRIPT LOAD for a key).
  std::string_view routing_key;
};

// Why a call failed without a reply.
enum class ErrorKind {
  kNone,        // OK
  kTimeout,     // no reply within the timeout; a late reply is discarded
  kConnection,  // connection lost with the command in flight, or no connection up
  kProtocol,    // the server sent bytes that are not RESP
  kRedirects,   // cluster: more MOVED/ASK redirects than max_redirects
  kInvalid,     // empty command, bad options
};
ErrorKind ErrorKindOf(const Status& status);

class Executor {
 public:
  virtual ~Executor() = default;

  // Sends `args` (command name first; binary-safe) and calls `done` with the
  // reply. The arguments are encoded before Exec returns: the caller's
  // storage may go away right after.
  void Exec(std::span<const std::string_view> args, const CallOptions& options, Callback done) {
    Submit(args, options, std::move(done));
  }
  void Exec(std::span<const std::string_view> args, Callback done) {
    Submit(args, CallOptions{}, std::move(done));
  }
  void Exec(std::initializer_list<std::string_view> args, const CallOptions& options,
            Callback done) {
    Submit(std::span<const std::string_view>(args.begin(), args.size()), options, std::move(done));
  }
  void Exec(std::initializer_list<std::string_view> args, Callback done) {
    Exec(args, CallOptions{}, std::move(done));
  }
  void Exec(const std::vector<std::string>& args, const CallOptions& options, Callback done);
  void Exec(const std::vector<std::string>& args, Callback done) {
    Exec(args, CallOptions{}, std::move(done));
  }

  // The timeout of calls whose CallOptions set none.
  virtual Duration command_timeout() const = 0;

  // Which server a command on `key` goes to now, for per-server state such as
  // a circuit breaker each ("host:port" of a cluster slot's primary); "" when
  // there is only one (Client) or the slot's primary is not known yet.
  virtual std::string ShardOf(std::string_view /*key*/) const { return {}; }

 protected:
  virtual void Submit(std::span<const std::string_view> args, const CallOptions& options,
                      Callback done) = 0;
};

}  // namespace keel::redis
