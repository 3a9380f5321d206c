#include "keel/redis/testing/sync.h"

#include <future>

namespace keel::redis::testing {

namespace {

StatusOr<Reply> Wait(const std::function<void(Callback)>& start) {
  auto promise = std::make_shared<std::promise<StatusOr<Reply>>>();
  auto future = promise->get_future();
  start([promise](StatusOr<Reply> r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace

StatusOr<Reply> ExecSync(Executor& executor, std::initializer_list<std::string_view> args,
                         const CallOptions& options) {
  return Wait([&](Callback cb) { executor.Exec(args, options, std::move(cb)); });
}

StatusOr<Reply> ExecSync(Executor& executor, const std::vector<std::string>& args,
                         const CallOptions& options) {
  return Wait([&](Callback cb) { executor.Exec(args, options, std::move(cb)); });
}

StatusOr<Reply> EvalShaSync(Executor& executor, std::shared_ptr<Script> script,
                            const std::vector<std::string>& keys,
                            const std::vector<std::string>& args, const CallOptions& options) {
  std::vector<std::string_view> k(keys.begin(), keys.end());
  std::vector<std::string_view> a(args.begin(), args.end());
  return Wait([&](Callback cb) {
    EvalSha(executor, std::move(script), k, a, options, std::move(cb));
  });
}

}  // namespace keel::redis::testing
