#include "json_api.h"

#include <simdjson.h>

#include <charconv>
#include <limits>

#include "keel/base/json_string.h"

namespace keel::ratelimit {
namespace {

namespace od = simdjson::ondemand;

constexpr std::size_t kMaxEntries = 64;

// The parse functions below return true to go on; on an error they record
// it here and return false, so the path that succeeds builds no Status.
struct Errors {
  Status status;

  bool Fail(Status s) {
    status = std::move(s);
    return false;
  }
  // "descriptors[3].limit.unit: <reason>"
  bool Field(std::size_t index, std::string_view field, std::string_view reason) {
    std::string msg = "descriptors[" + std::to_string(index) + "]";
    if (!field.empty()) msg.append(".").append(field);
    return Fail(InvalidArgument(msg.append(": ").append(reason)));
  }
  bool Syntax(simdjson::error_code code) {
    return Fail(InvalidArgument(std::string("body is not valid JSON (") + simdjson::error_message(code) + ")"));
  }
};

// The JSON name matches the proto field `snake` or its lowerCamelCase `camel`.
bool Is(std::string_view key, std::string_view snake, std::string_view camel) {
  return key == snake || key == camel;
}

// Calls f(name, value, type) for each field of `obj` whose value is not null
// (proto3 JSON: null is the field's default); stops when f returns false.
template <typename F>
bool ForEachField(Errors& e, od::object& obj, F&& f) {
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return e.Syntax(err);
    od::value value;
    if (auto err = field.value().get(value)) return e.Syntax(err);
    od::json_type type;
    if (auto err = value.type().get(type)) return e.Syntax(err);
    if (type == od::json_type::null) {
      bool null = false;  // consumes it, and checks it really is "null"
      if (auto err = value.is_null().get(null); err || !null) return e.Syntax(err ? err : simdjson::N_ATOM_ERROR);
      continue;
    }
    if (!f(key, value, type)) return false;
  }
  return true;
}

// A proto3 JSON integer: a JSON number without fraction or exponent, or a
// decimal string. Names the field (`name`, of descriptor `index` when
// in_descriptor) when it is not one.
bool ReadInt(Errors& e, od::value& v, od::json_type type, std::string_view name, std::size_t index,
             bool in_descriptor, std::int64_t* out) {
  if (type == od::json_type::number) {
    // A fraction, an exponent or a value past int64 is not an integer here.
    if (!v.get_int64().get(*out)) return true;
  } else if (type == od::json_type::string) {
    std::string_view s;
    if (auto err = v.get_string().get(s)) return e.Syntax(err);
    const char* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, *out);
    if (ec == std::errc() && p == end && !s.empty()) return true;
  }
  if (!in_descriptor) return e.Fail(InvalidArgument(std::string(name) + ": expected an integer"));
  return e.Field(index, name, "expected an integer");
}

// Reads a string value; `wrong_type` explains a value of another type.
template <typename WrongType>
bool ReadString(Errors& e, od::value& v, od::json_type type, std::string_view* out, WrongType&& wrong_type) {
  if (type != od::json_type::string) return wrong_type();
  if (auto err = v.get_string().get(*out)) return e.Syntax(err);
  return true;
}

bool ParseLimit(Errors& e, od::value& v, std::size_t index, LimitOverride* out) {
  constexpr std::string_view kNeeds = "needs requests_per_unit and unit (SECOND .. YEAR, WEEK)";
  od::object obj;
  if (v.get_object().get(obj)) return e.Field(index, "limit", kNeeds);
  bool have_rpu = false;
  bool have_unit = false;
  const bool ok = ForEachField(e, obj, [&](std::string_view key, od::value& value, od::json_type type) {
    if (Is(key, "requests_per_unit", "requestsPerUnit")) {
      std::int64_t n = 0;
      if (!ReadInt(e, value, type, "limit.requests_per_unit", index, true, &n)) return false;
      if (n < 0 || n > std::numeric_limits<std::uint32_t>::max()) {
        return e.Field(index, "limit.requests_per_unit", "out of range (0 .. 4294967295)");
      }
      out->requests_per_unit = static_cast<std::uint32_t>(n);
      have_rpu = true;
    } else if (key == "unit") {
      // An enum: its name, or its number.
      std::optional<Unit> unit;
      if (type == od::json_type::string) {
        std::string_view name;
        if (auto err = value.get_string().get(name)) return e.Syntax(err);
        unit = UnitFromEnvoyName(name);
      } else {
        std::int64_t number = 0;
        if (!ReadInt(e, value, type, "limit.unit", index, true, &number)) return false;
        unit = UnitFromEnvoyNumber(number);
      }
      if (!unit) return e.Field(index, "limit.unit", "unknown unit (SECOND .. YEAR, WEEK)");
      out->unit = *unit;
      have_unit = true;
    }
    return true;
  });
  if (!ok) return false;
  if (!have_rpu || !have_unit) return e.Field(index, "limit", kNeeds);
  return true;
}

bool ParseEntries(Errors& e, od::value& v, std::size_t index, std::vector<DescriptorEntry>* entries) {
  constexpr std::string_view kNeeds = "each needs a string key and value";
  od::array arr;
  if (v.get_array().get(arr)) return e.Field(index, "entries", "required non-empty list");
  entries->clear();
  for (auto element : arr) {
    od::value item;
    if (auto err = element.get(item)) return e.Syntax(err);
    od::object obj;
    if (item.get_object().get(obj)) return e.Field(index, "entries", kNeeds);
    DescriptorEntry entry;
    bool have_key = false;
    const bool ok = ForEachField(e, obj, [&](std::string_view key, od::value& value, od::json_type type) {
      const bool is_key = key == "key";
      if (!is_key && key != "value") return true;
      std::string_view text;
      if (!ReadString(e, value, type, &text, [&] { return e.Field(index, "entries", kNeeds); })) return false;
      if (is_key) {
        entry.key = text;
        have_key = true;
      } else {
        entry.value = text;
      }
      return true;
    });
    if (!ok) return false;
    if (!have_key) return e.Field(index, "entries", kNeeds);
    if (entries->size() == kMaxEntries) return e.Field(index, "entries", "at most 64 entries");
    entries->push_back(entry);
  }
  if (entries->empty()) return e.Field(index, "entries", "required non-empty list");
  return true;
}

bool ParseDescriptor(Errors& e, od::value& v, std::size_t index, DescriptorInput* in) {
  od::object obj;
  if (v.get_object().get(obj)) return e.Field(index, "", "expected an object");
  in->entries.clear();
  in->limit.reset();
  in->hits.reset();
  bool have_entries = false;
  const bool ok = ForEachField(e, obj, [&](std::string_view key, od::value& value, od::json_type type) {
    if (key == "entries") {
      have_entries = true;
      return ParseEntries(e, value, index, &in->entries);
    }
    if (key == "limit") {
      LimitOverride limit;
      if (!ParseLimit(e, value, index, &limit)) return false;
      in->limit = limit;
    } else if (Is(key, "hits_addend", "hitsAddend")) {
      std::int64_t hits = 0;
      if (!ReadInt(e, value, type, "hits_addend", index, true, &hits)) return false;
      in->hits = hits;
    }
    return true;
  });
  if (!ok) return false;
  if (!have_entries) return e.Field(index, "entries", "required non-empty list");
  return true;
}

bool ParseDescriptors(Errors& e, od::value& v, RateLimitInput* input) {
  od::array arr;
  if (v.get_array().get(arr)) return e.Fail(InvalidArgument("descriptors: required list"));
  std::size_t n = 0;
  for (auto element : arr) {
    od::value d;
    if (auto err = element.get(d)) return e.Syntax(err);
    if (n == kMaxDescriptorsPerCall) return e.Fail(InvalidArgument("descriptors: at most 64 per request"));
    // Grown, never shrunk: each DescriptorInput keeps its entries' capacity.
    if (input->descriptors.size() <= n) input->descriptors.resize(n + 1);
    if (!ParseDescriptor(e, d, n, &input->descriptors[n])) return false;
    ++n;
  }
  input->descriptors.resize(n);
  return true;
}

void AppendUint(std::uint64_t n, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out->append(buf, end);
}

std::string_view CodeName(ResponseCode code) {
  switch (code) {
    case ResponseCode::kOk: return "OK";
    case ResponseCode::kOverLimit: return "OVER_LIMIT";
    case ResponseCode::kUnknown: break;
  }
  return "UNKNOWN";
}

}  // namespace

struct JsonRequestParser::State {
  od::parser parser;
  std::string padded;  // the body, followed by SIMDJSON_PADDING bytes
};

JsonRequestParser::JsonRequestParser() : state_(std::make_unique<State>()) {}
JsonRequestParser::~JsonRequestParser() = default;

Status JsonRequestParser::Parse(std::string_view body, RateLimitInput* input) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the end; the
  // connection's buffer makes no such promise, so the body is copied.
  std::string& padded = state_->padded;
  padded.assign(body);
  padded.resize(body.size() + simdjson::SIMDJSON_PADDING, '\0');
  Errors e;
  od::document doc;
  if (auto err = state_->parser.iterate(padded.data(), body.size(), padded.size()).get(doc)) {
    e.Syntax(err);
    return e.status;
  }
  od::object root;
  if (auto err = doc.get_object().get(root)) {
    if (err == simdjson::INCORRECT_TYPE) {
      return InvalidArgument("body must be a JSON object (an Envoy RateLimitRequest)");
    }
    e.Syntax(err);
    return e.status;
  }
  input->domain = {};
  input->hits_addend = 1;
  bool have_domain = false;
  bool have_descriptors = false;
  const bool ok = ForEachField(e, root, [&](std::string_view key, od::value& value, od::json_type type) {
    if (key == "domain") {
      have_domain = true;
      return ReadString(e, value, type, &input->domain,
                        [&] { return e.Fail(InvalidArgument("domain: required string")); });
    }
    if (key == "descriptors") {
      have_descriptors = true;
      return ParseDescriptors(e, value, input);
    }
    if (Is(key, "hits_addend", "hitsAddend")) {
      std::int64_t hits = 0;
      if (!ReadInt(e, value, type, "hits_addend", 0, false, &hits)) return false;
      // 0 is proto3's default, which Envoy reads as 1; negative refunds.
      input->hits_addend = hits == 0 ? 1 : hits;
    }
    return true;
  });
  if (!ok) return e.status;
  // Anything after the root object ("{...} {...}", "{...} x") is an error.
  const char* rest = nullptr;
  if (!doc.current_location().get(rest)) return InvalidArgument("body is not valid JSON (trailing content)");
  // An empty domain or descriptor list is the Limiter's to refuse, with
  // the words it uses over gRPC too.
  if (!have_domain) return InvalidArgument("domain: required string");
  if (!have_descriptors) return InvalidArgument("descriptors: required list");
  return Status::Ok();
}

void AppendDurationJson(Duration d, std::string* out) {
  const auto ns = d.count();
  // Negated in unsigned arithmetic: -ns overflows for the most negative value.
  const auto abs = ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  if (ns < 0) out->push_back('-');
  AppendUint(abs / 1'000'000'000, out);
  // As protobuf writes it: 0, 3, 6 or 9 fractional digits.
  if (std::uint64_t frac = abs % 1'000'000'000; frac != 0) {
    int digits = 9;
    while (digits > 3 && frac % 1000 == 0) {
      frac /= 1000;
      digits -= 3;
    }
    char buf[10];
    buf[0] = '.';
    for (int i = digits; i >= 1; --i, frac /= 10) buf[i] = static_cast<char>('0' + frac % 10);
    out->append(buf, static_cast<std::size_t>(digits) + 1);
  }
  out->push_back('s');
}

void AppendResponseJson(const RateLimitOutput& out, std::string* body) {
  body->append("{\"overallCode\":\"").append(CodeName(out.overall_code)).append("\",\"statuses\":[");
  bool first = true;
  for (const DescriptorOutput& d : out.statuses) {
    body->append(first ? "{\"code\":\"" : ",{\"code\":\"").append(CodeName(d.code)).push_back('"');
    first = false;
    if (d.overridden || d.current_limit) {
      const std::uint32_t rpu =
          d.overridden ? d.override_limit.requests_per_unit : d.current_limit->spec.requests_per_unit;
      const Unit unit = d.overridden ? d.override_limit.unit : d.current_limit->spec.unit;
      body->append(",\"currentLimit\":{");
      // proto3 JSON omits fields holding their default (0, "").
      if (rpu != 0) {
        body->append("\"requestsPerUnit\":");
        AppendUint(rpu, body);
        body->push_back(',');
      }
      body->append("\"unit\":\"").append(EnvoyUnitName(unit)).push_back('"');
      if (!d.overridden && !d.current_limit->name.empty()) {
        body->append(",\"name\":");
        AppendJsonString(body, d.current_limit->name);
      }
      body->push_back('}');
    }
    if (d.limit_remaining != 0) {
      body->append(",\"limitRemaining\":");
      AppendUint(d.limit_remaining, body);
    }
    if (d.overridden || d.current_limit) {
      body->append(",\"durationUntilReset\":\"");
      AppendDurationJson(d.duration_until_reset, body);
      body->push_back('"');
    }
    body->push_back('}');
  }
  body->append("]}");
}

}  // namespace keel::ratelimit
