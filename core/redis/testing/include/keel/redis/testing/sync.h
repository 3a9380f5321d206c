// Blocking calls on a client whose io_context runs on another thread (an
// IoThread), for tests and tools.
//
//   StatusOr<Reply> r = ExecSync(*client, {"GET", "k"});
//
// REQUIRES: not called on the client's io_context thread (it would wait on
// itself). Returns when the callback ran, which the clients guarantee within
// the call's timeout.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "keel/redis/executor.h"
#include "keel/redis/script.h"

namespace keel::redis::testing {

StatusOr<Reply> ExecSync(Executor& executor, std::initializer_list<std::string_view> args,
                         const CallOptions& options = {});
StatusOr<Reply> ExecSync(Executor& executor, const std::vector<std::string>& args,
                         const CallOptions& options = {});
StatusOr<Reply> EvalShaSync(Executor& executor, std::shared_ptr<Script> script,
                            const std::vector<std::string>& keys,
                            const std::vector<std::string>& args,
                            const CallOptions& options = {});

}  // namespace keel::redis::testing
