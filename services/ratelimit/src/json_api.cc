#include "json_api.h"

#include <simdjson.h>

#include <charconv>
#include <limits>

#include "keel/net/http_message.h"

namespace keel::ratelimit {
namespace {

namespace od = simdjson::ondemand;

constexpr std::size_t kMaxDescriptors = 64;  // as Limiter::Decide
constexpr std::size_t kMaxEntries = 64;

// Builds "descriptors[3].limit.unit: <reason>" only on the error path.
Status FieldError(std::size_t index, std::string_view field, std::string_view reason) {
  std::string msg = "descriptors[" + std::to_string(index) + "]";
  if (!field.empty()) msg.append(".").append(field);
  return InvalidArgument(msg.append(": ").append(reason));
}

Status SyntaxError(simdjson::error_code code) {
  return InvalidArgument(std::string("body is not valid JSON (") + simdjson::error_message(code) + ")");
}

// The JSON name matches the proto field `snake` or its lowerCamelCase `camel`.
bool Is(std::string_view key, std::string_view snake, std::string_view camel) {
  return key == snake || key == camel;
}

// Whether the value is JSON null (proto3 JSON: the field's default). A
// syntax error in the value surfaces on the next read.
bool IsNull(od::value& v) {
  bool null = false;
  return !v.is_null().get(null) && null;
}

// Calls f(name, value) for each field of `obj` whose value is not null
// (proto3 JSON: null is the field's default); stops at f's first error.
template <typename F>
Status ForEachField(od::object& obj, F&& f) {
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return SyntaxError(err);
    od::value value;
    if (auto err = field.value().get(value)) return SyntaxError(err);
    if (IsNull(value)) continue;
    if (Status st = f(key, value); !st.ok()) return st;
  }
  return Status::Ok();
}

enum class IntResult { kOk, kNotInteger, kSyntax };

// A proto3 JSON integer: a JSON number without fraction or exponent, or a
// decimal string. `syntax` is set when the error is a malformed document.
IntResult ReadInt(od::value& v, std::int64_t* out, simdjson::error_code* syntax) {
  od::json_type type;
  if (auto err = v.type().get(type)) {
    *syntax = err;
    return IntResult::kSyntax;
  }
  if (type == od::json_type::number) {
    // A fraction, an exponent or a value past int64 is not an integer here.
    return v.get_int64().get(*out) ? IntResult::kNotInteger : IntResult::kOk;
  }
  if (type == od::json_type::string) {
    std::string_view s;
    if (auto err = v.get_string().get(s)) {
      *syntax = err;
      return IntResult::kSyntax;
    }
    const char* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, *out);
    return ec == std::errc() && p == end && !s.empty() ? IntResult::kOk : IntResult::kNotInteger;
  }
  return IntResult::kNotInteger;
}

// Reads an integer field into *out, or explains what is wrong with it.
Status IntField(od::value& v, std::string_view name, std::int64_t* out, std::size_t index, bool in_descriptor) {
  simdjson::error_code syntax = simdjson::SUCCESS;
  switch (ReadInt(v, out, &syntax)) {
    case IntResult::kOk:
      return Status::Ok();
    case IntResult::kSyntax:
      return SyntaxError(syntax);
    case IntResult::kNotInteger:
      break;
  }
  if (!in_descriptor) return InvalidArgument(std::string(name) + ": expected an integer");
  return FieldError(index, name, "expected an integer");
}

// Reads a string value: INCORRECT_TYPE when it is not a string, another
// error when the document is malformed.
simdjson::error_code ReadString(od::value& v, std::string_view* out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  if (type != od::json_type::string) return simdjson::INCORRECT_TYPE;
  return v.get_string().get(*out);
}

Status ParseLimit(od::value& v, std::size_t index, LimitOverride* out) {
  constexpr std::string_view kNeeds = "needs requests_per_unit and unit (SECOND .. YEAR, WEEK)";
  od::object obj;
  if (v.get_object().get(obj)) return FieldError(index, "limit", kNeeds);
  bool have_rpu = false;
  bool have_unit = false;
  Status st = ForEachField(obj, [&](std::string_view key, od::value& value) -> Status {
    if (Is(key, "requests_per_unit", "requestsPerUnit")) {
      std::int64_t n = 0;
      if (Status s = IntField(value, "limit.requests_per_unit", &n, index, true); !s.ok()) return s;
      if (n < 0 || n > std::numeric_limits<std::uint32_t>::max()) {
        return FieldError(index, "limit.requests_per_unit", "out of range (0 .. 4294967295)");
      }
      out->requests_per_unit = static_cast<std::uint32_t>(n);
      have_rpu = true;
    } else if (key == "unit") {
      // An enum: its name, or its number.
      od::json_type type;
      if (auto err = value.type().get(type)) return SyntaxError(err);
      std::optional<Unit> unit;
      if (type == od::json_type::string) {
        std::string_view name;
        if (auto err = value.get_string().get(name)) return SyntaxError(err);
        unit = UnitFromEnvoyName(name);
      } else {
        std::int64_t number = 0;
        if (Status s = IntField(value, "limit.unit", &number, index, true); !s.ok()) return s;
        unit = UnitFromEnvoyNumber(number);
      }
      if (!unit) return FieldError(index, "limit.unit", "unknown unit (SECOND .. YEAR, WEEK)");
      out->unit = *unit;
      have_unit = true;
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (!have_rpu || !have_unit) return FieldError(index, "limit", kNeeds);
  return Status::Ok();
}

Status ParseEntries(od::value& v, std::size_t index, std::vector<DescriptorEntry>* entries) {
  constexpr std::string_view kNeeds = "each needs a string key and value";
  od::array arr;
  if (v.get_array().get(arr)) return FieldError(index, "entries", "required non-empty list");
  entries->clear();
  for (auto element : arr) {
    od::value e;
    if (auto err = element.get(e)) return SyntaxError(err);
    od::object obj;
    if (e.get_object().get(obj)) return FieldError(index, "entries", kNeeds);
    DescriptorEntry entry;
    bool have_key = false;
    Status st = ForEachField(obj, [&](std::string_view key, od::value& value) -> Status {
      if (key != "key" && key != "value") return Status::Ok();
      std::string_view text;
      if (auto err = ReadString(value, &text)) {
        return err == simdjson::INCORRECT_TYPE ? FieldError(index, "entries", kNeeds) : SyntaxError(err);
      }
      if (key == "key") {
        entry.key = text;
        have_key = true;
      } else {
        entry.value = text;
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    if (!have_key) return FieldError(index, "entries", kNeeds);
    if (entries->size() == kMaxEntries) return FieldError(index, "entries", "at most 64 entries");
    entries->push_back(entry);
  }
  if (entries->empty()) return FieldError(index, "entries", "required non-empty list");
  return Status::Ok();
}

Status ParseDescriptor(od::value& v, std::size_t index, DescriptorInput* in) {
  od::object obj;
  if (v.get_object().get(obj)) return FieldError(index, "", "expected an object");
  in->entries.clear();
  in->limit.reset();
  in->hits.reset();
  bool have_entries = false;
  Status st = ForEachField(obj, [&](std::string_view key, od::value& value) -> Status {
    if (key == "entries") {
      have_entries = true;
      return ParseEntries(value, index, &in->entries);
    }
    if (key == "limit") {
      LimitOverride limit;
      Status s = ParseLimit(value, index, &limit);
      in->limit = limit;
      return s;
    }
    if (Is(key, "hits_addend", "hitsAddend")) {
      std::int64_t hits = 0;
      Status s = IntField(value, "hits_addend", &hits, index, true);
      in->hits = hits;
      return s;
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (!have_entries) return FieldError(index, "entries", "required non-empty list");
  return Status::Ok();
}

Status ParseDescriptors(od::value& v, RateLimitInput* input) {
  od::array arr;
  if (v.get_array().get(arr)) return InvalidArgument("descriptors: required list");
  std::size_t n = 0;
  for (auto element : arr) {
    od::value d;
    if (auto err = element.get(d)) return SyntaxError(err);
    if (n == kMaxDescriptors) return InvalidArgument("descriptors: at most 64 per request");
    // Grown, never shrunk: each DescriptorInput keeps its entries' capacity.
    if (input->descriptors.size() <= n) input->descriptors.resize(n + 1);
    Status st = ParseDescriptor(d, n, &input->descriptors[n]);
    if (!st.ok()) return st;
    ++n;
  }
  input->descriptors.resize(n);
  return Status::Ok();
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
  od::document doc;
  if (auto err = state_->parser.iterate(padded.data(), body.size(), padded.size()).get(doc)) {
    return SyntaxError(err);
  }
  od::object root;
  if (auto err = doc.get_object().get(root)) {
    if (err == simdjson::INCORRECT_TYPE) {
      return InvalidArgument("body must be a JSON object (an Envoy RateLimitRequest)");
    }
    return SyntaxError(err);
  }
  input->domain = {};
  input->hits_addend = 1;
  bool have_domain = false;
  bool have_descriptors = false;
  Status st = ForEachField(root, [&](std::string_view key, od::value& value) -> Status {
    if (key == "domain") {
      have_domain = true;
      if (auto err = ReadString(value, &input->domain)) {
        return err == simdjson::INCORRECT_TYPE ? InvalidArgument("domain: required string") : SyntaxError(err);
      }
    } else if (key == "descriptors") {
      have_descriptors = true;
      return ParseDescriptors(value, input);
    } else if (Is(key, "hits_addend", "hitsAddend")) {
      std::int64_t hits = 0;
      Status s = IntField(value, "hits_addend", &hits, 0, false);
      // 0 is proto3's default, which Envoy reads as 1; negative refunds.
      input->hits_addend = hits == 0 ? 1 : hits;
      return s;
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
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
        net::AppendJsonString(body, d.current_limit->name);
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
