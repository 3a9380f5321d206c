// The Redis side of the rate limiter's Redis store: the Lua script that
// applies hits to a descriptor's limits atomically (redis_script.lua), the
// keys it works on and the translation of its arguments and reply.
//
//   std::vector<std::string> keys, argv;
//   for (const Limit& l : limits) keys.push_back(StateKey(domain, entries, l));
//   AppendApplyArgs(limits, hits, /*now_us=*/0, &argv);    // 0: Redis TIME
//   ... EVALSHA sha keys.size() keys... argv...  -> integers
//   Status s = ParseApplyReply(integers, per_limit);
//   Decision d = CombineDecisions(per_limit);
//
// Time is in whole microseconds on the Redis side (Lua numbers are doubles:
// ns timestamps would lose precision); see docs/redis.md for what that
// rounds.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/ratelimit/decision.h"
#include "keel/ratelimit/key_hash.h"
#include "keel/ratelimit/limit.h"

namespace keel::ratelimit {

// The script's source (the text of redis_script.lua).
std::string_view ApplyScript();

// Reply integers per limit.
inline constexpr std::size_t kApplyReplyWidth = 5;

// The key of one limit's state:
//   rl:{<domain>|<key>=<value>|...}:<limit fingerprint, 16 hex digits>
// with '\', '|', '=', '{' and '}' in the domain, keys and values escaped by a
// backslash, so distinct descriptors never share a key and every limit of a
// descriptor shares one Redis Cluster hash tag (the braces): one slot, one
// atomic script.
std::string StateKey(std::string_view domain, std::span<const DescriptorEntry> entries,
                     const Limit& limit);

// Appends ARGV: hits, now_us (0: the Redis server's TIME), then per limit
// its algorithm, requests_per_unit, capacity, period and GCRA emission
// interval in microseconds.
void AppendApplyArgs(std::span<const Limit> limits, std::int64_t hits, std::int64_t now_us,
                     std::vector<std::string>* argv);

// Decisions from the script's reply (kApplyReplyWidth integers per limit).
// Errors: Internal when the reply does not have that shape.
Status ParseApplyReply(std::span<const std::int64_t> reply, std::span<Decision> per_limit);

}  // namespace keel::ratelimit
