// Toxic specifications: what a toxic is, as the Toxiproxy 2.x API spells it.
//
//   {"name": "latency_downstream", "type": "latency", "stream": "downstream",
//    "toxicity": 1.0, "attributes": {"latency": 100, "jitter": 10}}
//
// Defaults follow Toxiproxy: stream "downstream" (server -> client), toxicity
// 1.0, name "<type>_<stream>". Attributes per type (integers):
//
//   latency     latency, jitter (ms)        bandwidth  rate (KB/s, 1 KB = 1000 B)
//   slow_close  delay (ms)                  timeout    timeout (ms, 0 = forever)
//   reset_peer  timeout (ms)                slicer     average_size, size_variation
//   limit_data  bytes                                  (bytes), delay (µs)
//
// Unknown attribute keys are ignored (as Toxiproxy's JSON decoder does).
// Stricter than Toxiproxy: negative values, toxicity outside [0, 1] and a
// slicer average_size below 1 (which makes Toxiproxy recurse forever) are 400.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "keel/chaos/api_reply.h"

namespace keel::chaos {

enum class ToxicType { kLatency, kBandwidth, kSlowClose, kTimeout, kResetPeer, kSlicer, kLimitData };

// Upstream: client -> server. Downstream: server -> client.
enum class Stream { kUpstream, kDownstream };

std::optional<ToxicType> ParseToxicType(std::string_view name);
std::string_view ToxicTypeName(ToxicType type);
std::optional<Stream> ParseStream(std::string_view name);
std::string_view StreamName(Stream stream);

// Only the fields of the toxic's type are read, validated and serialized.
struct ToxicAttributes {
  std::int64_t latency = 0;         // latency: ms
  std::int64_t jitter = 0;          // latency: ms, uniform in [-jitter, jitter)
  std::int64_t rate = 0;            // bandwidth: KB/s; 0 = unlimited
  std::int64_t delay = 0;           // slow_close: ms; slicer: µs between pieces
  std::int64_t timeout = 0;         // timeout, reset_peer: ms
  std::int64_t average_size = 0;    // slicer: bytes
  std::int64_t size_variation = 0;  // slicer: bytes
  std::int64_t bytes = 0;           // limit_data
};

struct ToxicSpec {
  std::string name;
  ToxicType type = ToxicType::kLatency;
  Stream stream = Stream::kDownstream;
  double toxicity = 1.0;  // probability that the toxic applies to a connection
  ToxicAttributes attributes;
};

// Parses a POST /proxies/{proxy}/toxics body, filling in the defaults.
// Errors (400): bad body, invalid stream, invalid toxic type, bad attribute.
ApiResult<ToxicSpec> ParseToxic(const nlohmann::json& body);

// Applies a POST /proxies/{proxy}/toxics/{toxic} body: attributes present in
// the body replace the current ones, absent ones are kept; toxicity likewise.
// Returns the updated spec or a 400 reply; `current` is not modified.
ApiResult<ToxicSpec> UpdateToxic(const ToxicSpec& current, const nlohmann::json& body);

nlohmann::json ToxicToJson(const ToxicSpec& toxic);

}  // namespace keel::chaos
