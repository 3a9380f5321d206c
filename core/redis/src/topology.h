// Parsing what Redis Cluster says about its topology (internal): CLUSTER
// SLOTS replies and MOVED/ASK redirect errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/redis/reply.h"

namespace keel::redis::internal {

struct SlotRange {
  int first = 0;
  int last = 0;      // inclusive
  std::string host;  // the primary's; empty: the node that answered
  std::uint16_t port = 0;
};

// CLUSTER SLOTS: [[first, last, [host, port, id, ...], replica...], ...].
StatusOr<std::vector<SlotRange>> ParseClusterSlots(const Reply& reply);

struct Redirect {
  bool ask = false;  // ASK (this command only) rather than MOVED (the slot moved)
  int slot = 0;
  std::string host;  // empty: the node that answered
  std::uint16_t port = 0;
};

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"; nullopt for
// any other error text.
std::optional<Redirect> ParseRedirect(std::string_view error);

}  // namespace keel::redis::internal
