#include "command_keys.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace keel::redis::internal {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

template <std::size_t N>
bool OneOf(std::string_view name, const std::array<std::string_view, N>& names) {
  return std::any_of(names.begin(), names.end(), [&](std::string_view n) { return IEquals(name, n); });
}

constexpr std::array<std::string_view, 28> kKeyless = {
    "PING",    "ECHO",     "INFO",   "TIME",     "SCRIPT",   "CLUSTER", "COMMAND",
    "CONFIG",  "CLIENT",   "DBSIZE", "FLUSHALL", "FLUSHDB",  "DEBUG",   "AUTH",
    "SELECT",  "HELLO",    "QUIT",   "ASKING",   "READONLY", "READWRITE", "LASTSAVE",
    "SLOWLOG", "FUNCTION", "MULTI",  "EXEC",     "DISCARD",  "RANDOMKEY", "WAIT"};
constexpr std::array<std::string_view, 6> kNumkeys = {"EVAL",     "EVALSHA", "EVAL_RO",
                                                      "EVALSHA_RO", "FCALL", "FCALL_RO"};
constexpr std::array<std::string_view, 3> kSubcommand = {"OBJECT", "MEMORY", "XINFO"};

}  // namespace

std::optional<std::string_view> FirstKey(std::span<const std::string_view> args) {
  if (args.size() < 2) return std::nullopt;
  const std::string_view name = args[0];
  if (OneOf(name, kKeyless)) return std::nullopt;
  if (OneOf(name, kNumkeys)) {
    if (args.size() < 4) return std::nullopt;
    const std::string_view numkeys = args[2];
    if (numkeys.empty() || numkeys == "0" ||
        !std::all_of(numkeys.begin(), numkeys.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    return args[3];
  }
  if (IEquals(name, "XREAD") || IEquals(name, "XREADGROUP")) {
    for (std::size_t i = 1; i + 1 < args.size(); ++i) {
      if (IEquals(args[i], "STREAMS")) return args[i + 1];
    }
    return std::nullopt;
  }
  if (OneOf(name, kSubcommand)) {
    if (args.size() < 3) return std::nullopt;
    return args[2];
  }
  return args[1];
}

}  // namespace keel::redis::internal
