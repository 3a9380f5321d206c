#include "keel/redis/script.h"

#include <algorithm>
#include <vector>

#include "keel/base/clock.h"

namespace keel::redis {

std::string Script::sha() const {
  std::lock_guard lock(mu_);
  return sha_;
}

void Script::set_sha(std::string sha) {
  std::lock_guard lock(mu_);
  sha_ = std::move(sha);
}

namespace {

struct EvalCall {
  Executor* executor = nullptr;
  std::shared_ptr<Script> script;
  std::vector<std::string> keys;
  std::vector<std::string> args;
  Clock::time_point deadline;
  bool reloaded = false;
  Callback done;
};

void Run(const std::shared_ptr<EvalCall>& call, const std::string& sha);

// The rest of the call's budget (at least 1ns: a spent budget times out in
// the executor, asynchronously, as any call).
CallOptions Remaining(const EvalCall& call) {
  CallOptions options;
  options.timeout = std::max<Duration>(call.deadline - SystemClock::Default().Now(), Duration(1));
  if (!call.keys.empty()) options.routing_key = call.keys.front();
  return options;
}

void Load(const std::shared_ptr<EvalCall>& call) {
  call->executor->Exec(
      {"SCRIPT", "LOAD", call->script->source()}, Remaining(*call), [call](StatusOr<Reply> r) {
        if (!r.ok() || r->type != ReplyType::kString) {
          if (r.ok() && !r->is_error()) {
            r = Reply::ErrorReply("ERR unexpected SCRIPT LOAD reply " + r->DebugString());
          }
          call->done(std::move(r));
          return;
        }
        call->script->set_sha(r->str);
        Run(call, r->str);
      });
}

void Run(const std::shared_ptr<EvalCall>& call, const std::string& sha) {
  const std::string numkeys = std::to_string(call->keys.size());
  std::vector<std::string_view> argv;
  argv.reserve(3 + call->keys.size() + call->args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha);
  argv.push_back(numkeys);
  for (const auto& k : call->keys) argv.push_back(k);
  for (const auto& a : call->args) argv.push_back(a);
  call->executor->Exec(argv, Remaining(*call), [call](StatusOr<Reply> r) {
    if (r.ok() && r->IsErrorCode("NOSCRIPT") && !call->reloaded) {
      call->reloaded = true;
      Load(call);
      return;
    }
    call->done(std::move(r));
  });
}

}  // namespace

void EvalSha(Executor& executor, std::shared_ptr<Script> script,
             std::span<const std::string_view> keys, std::span<const std::string_view> args,
             const CallOptions& options, Callback done) {
  auto call = std::make_shared<EvalCall>();
  call->executor = &executor;
  call->script = std::move(script);
  call->keys.assign(keys.begin(), keys.end());
  call->args.assign(args.begin(), args.end());
  call->deadline = SystemClock::Default().Now() + (options.timeout > Duration::zero() ? options.timeout
                                                                     : executor.command_timeout());
  call->done = std::move(done);
  const std::string sha = call->script->sha();
  if (sha.empty()) {
    Load(call);
  } else {
    Run(call, sha);
  }
}

}  // namespace keel::redis
