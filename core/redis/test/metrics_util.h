// Reads a client metric's value back from a test's registry.
#pragma once

#include <string>
#include <vector>

#include "keel/obs/metrics.h"

namespace keel::redis {

inline std::uint64_t CounterValue(obs::Registry& registry, const std::string& name,
                                  const std::vector<std::string>& label_names,
                                  std::initializer_list<std::string_view> labels) {
  return registry.AddCounter(name, "", label_names).Get(labels)->Value();
}

inline std::uint64_t Commands(obs::Registry& registry, const std::string& server,
                              std::string_view outcome) {
  return CounterValue(registry, "keel_redis_commands_total", {"server", "outcome"},
                      {server, outcome});
}

inline std::uint64_t ServerCounter(obs::Registry& registry, const std::string& name,
                                   const std::string& server) {
  return CounterValue(registry, name, {"server"}, {server});
}

inline double ServerGauge(obs::Registry& registry, const std::string& name,
                          const std::string& server) {
  return registry.AddGauge(name, "", {"server"}).Get({server})->Value();
}

}  // namespace keel::redis
