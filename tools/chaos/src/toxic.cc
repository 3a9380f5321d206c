#include "keel/chaos/toxic.h"

#include <array>
#include <utility>

namespace keel::chaos {

using nlohmann::json;

namespace {

struct TypeInfo {
  ToxicType type;
  std::string_view name;
};
constexpr std::array<TypeInfo, 7> kTypes{{
    {ToxicType::kLatency, "latency"},
    {ToxicType::kBandwidth, "bandwidth"},
    {ToxicType::kSlowClose, "slow_close"},
    {ToxicType::kTimeout, "timeout"},
    {ToxicType::kResetPeer, "reset_peer"},
    {ToxicType::kSlicer, "slicer"},
    {ToxicType::kLimitData, "limit_data"},
}};

struct Field {
  std::string_view name;
  std::int64_t ToxicAttributes::*member;
  std::int64_t min;
};

// The attributes of each type, in Toxiproxy's field order.
std::vector<Field> FieldsOf(ToxicType type) {
  using A = ToxicAttributes;
  switch (type) {
    case ToxicType::kLatency: return {{"latency", &A::latency, 0}, {"jitter", &A::jitter, 0}};
    case ToxicType::kBandwidth: return {{"rate", &A::rate, 0}};
    case ToxicType::kSlowClose: return {{"delay", &A::delay, 0}};
    case ToxicType::kTimeout: return {{"timeout", &A::timeout, 0}};
    case ToxicType::kResetPeer: return {{"timeout", &A::timeout, 0}};
    case ToxicType::kSlicer:
      return {{"average_size", &A::average_size, 1},
              {"size_variation", &A::size_variation, 0},
              {"delay", &A::delay, 0}};
    case ToxicType::kLimitData: return {{"bytes", &A::bytes, 0}};
  }
  return {};
}

// Reads the attributes present in `attrs` over `out`, then validates all.
ApiResult<ToxicAttributes> ReadAttributes(ToxicType type, const json& attrs,
                                          ToxicAttributes out) {
  if (!attrs.is_null() && !attrs.is_object()) return BadBody("attributes must be an object");
  const auto fields = FieldsOf(type);
  for (const Field& f : fields) {
    if (attrs.is_null()) break;
    auto it = attrs.find(std::string(f.name));
    if (it == attrs.end() || it->is_null()) continue;
    if (!it->is_number_integer()) {
      return BadBody("attribute '" + std::string(f.name) + "' must be an integer");
    }
    out.*f.member = it->is_number_unsigned() && it->get<std::uint64_t>() > INT64_MAX
                        ? INT64_MAX
                        : it->get<std::int64_t>();
  }
  for (const Field& f : fields) {
    if (out.*f.member < f.min) {
      return BadBody("attribute '" + std::string(f.name) + "' must be >= " +
                     std::to_string(f.min));
    }
  }
  return out;
}

ApiResult<double> ReadToxicity(const json& body, double current) {
  auto it = body.find("toxicity");
  if (it == body.end() || it->is_null()) return current;
  if (!it->is_number()) return BadBody("toxicity must be a number");
  double t = it->get<double>();
  if (!(t >= 0.0 && t <= 1.0)) return BadBody("toxicity must be in [0, 1]");
  return t;
}

// A string field: absent/null -> fallback; not a string -> error.
ApiResult<std::string> ReadString(const json& body, const char* key, std::string fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_string()) return BadBody(std::string(key) + " must be a string");
  return it->get<std::string>();
}

}  // namespace

std::optional<ToxicType> ParseToxicType(std::string_view name) {
  for (const auto& t : kTypes) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

std::string_view ToxicTypeName(ToxicType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

std::optional<Stream> ParseStream(std::string_view name) {
  if (name == "upstream") return Stream::kUpstream;
  if (name == "downstream") return Stream::kDownstream;
  return std::nullopt;
}

std::string_view StreamName(Stream stream) {
  return stream == Stream::kUpstream ? "upstream" : "downstream";
}

// Checks in Toxiproxy's order: body, stream, name default, type, attributes.
ApiResult<ToxicSpec> ParseToxic(const json& body) {
  if (!body.is_object()) return BadBody("expected a JSON object");
  ToxicSpec spec;
  auto stream = ReadString(body, "stream", "downstream");
  if (!stream.ok()) return stream.error();
  auto type = ReadString(body, "type", "");
  if (!type.ok()) return type.error();
  auto name = ReadString(body, "name", "");
  if (!name.ok()) return name.error();
  auto toxicity = ReadToxicity(body, 1.0);
  if (!toxicity.ok()) return toxicity.error();

  auto parsed_stream = ParseStream(*stream);
  if (!parsed_stream) return ApiReply::Error(400, kErrInvalidStream);
  spec.stream = *parsed_stream;
  spec.name = name->empty() ? *type + "_" + *stream : *name;
  auto parsed_type = ParseToxicType(*type);
  if (!parsed_type) return ApiReply::Error(400, kErrInvalidToxicType);
  spec.type = *parsed_type;
  spec.toxicity = *toxicity;
  auto attrs_it = body.find("attributes");
  auto attrs = ReadAttributes(spec.type, attrs_it == body.end() ? json() : *attrs_it, {});
  if (!attrs.ok()) return attrs.error();
  spec.attributes = *attrs;
  return spec;
}

ApiResult<ToxicSpec> UpdateToxic(const ToxicSpec& current, const json& body) {
  if (!body.is_object()) return BadBody("expected a JSON object");
  ToxicSpec spec = current;
  auto toxicity = ReadToxicity(body, current.toxicity);
  if (!toxicity.ok()) return toxicity.error();
  spec.toxicity = *toxicity;
  auto attrs_it = body.find("attributes");
  auto attrs =
      ReadAttributes(spec.type, attrs_it == body.end() ? json() : *attrs_it, current.attributes);
  if (!attrs.ok()) return attrs.error();
  spec.attributes = *attrs;
  return spec;
}

json ToxicToJson(const ToxicSpec& toxic) {
  json attrs = json::object();
  for (const Field& f : FieldsOf(toxic.type)) attrs[std::string(f.name)] = toxic.attributes.*f.member;
  return json{{"attributes", std::move(attrs)},
              {"name", toxic.name},
              {"type", ToxicTypeName(toxic.type)},
              {"stream", StreamName(toxic.stream)},
              {"toxicity", toxic.toxicity}};
}

}  // namespace keel::chaos
