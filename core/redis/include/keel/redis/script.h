// Lua scripts run with EVALSHA, loaded on demand.
//
//   static const auto kIncrWithTtl = std::make_shared<Script>(
//       "local v = redis.call('INCR', KEYS[1]) "
//       "if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return v");
//   EvalSha(client, kIncrWithTtl, {key}, {"1000"}, {}, [](StatusOr<Reply> r) { ... });
//
// The first call sends SCRIPT LOAD and keeps the SHA1 Redis returns; calls
// then send EVALSHA only. When Redis answers NOSCRIPT (restarted, SCRIPT
// FLUSH, another cluster node, a promoted replica) the call loads the script
// again and retries once. One timeout covers the whole chain.
//
// Cluster: SCRIPT LOAD is routed by the first key, so it reaches the node
// that runs the EVALSHA; a script with no keys runs on any primary and may
// then fail with NOSCRIPT after its one reload — give cluster scripts a key.
//
// Thread-safety: Script is thread-safe (its SHA is read and set under a
// mutex); EvalSha as the executor's Exec.
#pragma once

#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "keel/redis/executor.h"

namespace keel::redis {

class Script {
 public:
  explicit Script(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  // The SHA1 from the last SCRIPT LOAD; empty before the first one.
  std::string sha() const;
  void set_sha(std::string sha);

 private:
  const std::string source_;
  mutable std::mutex mu_;
  std::string sha_;  // GUARDED_BY(mu_)
};

// Runs EVALSHA sha numkeys keys... args... on `executor`, loading the script
// as described above; `done` gets EVALSHA's reply (error replies included)
// or SCRIPT LOAD's error. `keys` and `args` are copied.
// REQUIRES: script != nullptr.
void EvalSha(Executor& executor, std::shared_ptr<Script> script,
             std::span<const std::string_view> keys, std::span<const std::string_view> args,
             const CallOptions& options, Callback done);
inline void EvalSha(Executor& executor, std::shared_ptr<Script> script,
                    std::initializer_list<std::string_view> keys,
                    std::initializer_list<std::string_view> args, const CallOptions& options,
                    Callback done) {
  EvalSha(executor, std::move(script), std::span<const std::string_view>(keys.begin(), keys.size()),
          std::span<const std::string_view>(args.begin(), args.size()), options, std::move(done));
}

}  // namespace keel::redis
