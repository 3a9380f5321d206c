// Which argument of a command the cluster client routes by (internal).
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace keel::redis::internal {

// The command's first key, or nullopt for a command without keys (PING,
// INFO, SCRIPT, CLUSTER, ... and EVAL/EVALSHA with 0 keys), which may run on
// any node. The rules: EVAL/EVALSHA/FCALL (and _RO): the first key after
// numkeys; XREAD/XREADGROUP: the first after STREAMS; OBJECT/MEMORY/XINFO
// subcommands: the argument after the subcommand; otherwise argument 1.
std::optional<std::string_view> FirstKey(std::span<const std::string_view> args);

}  // namespace keel::redis::internal
