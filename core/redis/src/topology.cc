#include "topology.h"

#include <charconv>

#include "keel/redis/slot.h"

namespace keel::redis::internal {

namespace {

bool ParsePort(std::string_view text, std::uint16_t* port) {
  unsigned v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v == 0 || v > 65535) return false;
  *port = static_cast<std::uint16_t>(v);
  return true;
}

// "host:port", "[v6]:port" or ":port".
bool SplitHostPort(std::string_view text, std::string* host, std::uint16_t* port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h == "?") h = {};  // Redis 7: unknown endpoint
  *host = std::string(h);
  return ParsePort(text.substr(colon + 1), port);
}

}  // namespace

StatusOr<std::vector<SlotRange>> ParseClusterSlots(const Reply& reply) {
  if (reply.type != ReplyType::kArray) {
    return Unavailable("redis: CLUSTER SLOTS: unexpected reply " + reply.DebugString());
  }
  std::vector<SlotRange> ranges;
  for (const Reply& entry : reply.elements) {
    if (entry.type != ReplyType::kArray || entry.elements.size() < 3 ||
        entry.elements[0].type != ReplyType::kInteger ||
        entry.elements[1].type != ReplyType::kInteger) {
      return Unavailable("redis: CLUSTER SLOTS: bad entry " + entry.DebugString());
    }
    const Reply& primary = entry.elements[2];
    if (primary.type != ReplyType::kArray || primary.elements.size() < 2 ||
        primary.elements[0].type != ReplyType::kString ||
        primary.elements[1].type != ReplyType::kInteger) {
      return Unavailable("redis: CLUSTER SLOTS: bad node " + primary.DebugString());
    }
    SlotRange r;
    r.first = static_cast<int>(entry.elements[0].integer);
    r.last = static_cast<int>(entry.elements[1].integer);
    if (r.first < 0 || r.last < r.first || r.last >= kClusterSlots ||
        primary.elements[1].integer <= 0 || primary.elements[1].integer > 65535) {
      return Unavailable("redis: CLUSTER SLOTS: bad range " + entry.DebugString());
    }
    r.host = primary.elements[0].str == "?" ? std::string() : primary.elements[0].str;
    r.port = static_cast<std::uint16_t>(primary.elements[1].integer);
    ranges.push_back(std::move(r));
  }
  return ranges;
}

std::optional<Redirect> ParseRedirect(std::string_view error) {
  Redirect r;
  if (error.starts_with("MOVED ")) {
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.ask = true;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view slot = error.substr(0, space);
  auto res = std::from_chars(slot.data(), slot.data() + slot.size(), r.slot);
  if (res.ec != std::errc() || res.ptr != slot.data() + slot.size() || r.slot < 0 ||
      r.slot >= kClusterSlots) {
    return std::nullopt;
  }
  if (!SplitHostPort(error.substr(space + 1), &r.host, &r.port)) return std::nullopt;
  return r;
}

}  // namespace keel::redis::internal
