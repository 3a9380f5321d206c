// libFuzzer target for JsonRequestParser (POST /json bodies) and the
// response writer, driven the way HttpApi drives them.
//
// The body is copied to an exactly-sized heap block, so ASan sees any read
// past it, and parsed with a parser that has just read a larger request, so
// the reused buffers and vectors are exercised. Each input is parsed twice
// with the same parser: both results must agree. An accepted request must
// respect the documented bounds, and written back as canonical proto3 JSON
// it must parse to the same request. Then a RateLimitOutput derived from it
// (limits, names, remaining counts, any duration) is written with
// AppendResponseJson, and the answer must be valid JSON that says the same.
// The raw input also goes through keel::AppendJsonString, which must always
// write valid JSON.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_api.h"
#include "keel/base/json_string.h"
#include "keel/ratelimit/rls_types.h"

namespace {

using keel::ratelimit::AppendResponseJson;
using keel::ratelimit::DescriptorOutput;
using keel::ratelimit::Duration;
using keel::ratelimit::EnvoyUnitName;
using keel::ratelimit::EnvoyUnitNumber;
using keel::ratelimit::JsonRequestParser;
using keel::ratelimit::LimitOverride;
using keel::ratelimit::LimitRule;
using keel::ratelimit::RateLimitInput;
using keel::ratelimit::RateLimitOutput;
using keel::ratelimit::ResponseCode;
using keel::ratelimit::Unit;

void Check(bool ok) {
  if (!ok) std::abort();
}

// A parsed request with owned strings: the input's views die on the next Parse.
struct OwnedEntry {
  std::string key;
  std::string value;
  bool operator==(const OwnedEntry&) const = default;
};
struct OwnedDescriptor {
  std::vector<OwnedEntry> entries;
  std::optional<std::uint32_t> limit_rpu;
  std::optional<Unit> limit_unit;
  std::optional<std::int64_t> hits;
  bool operator==(const OwnedDescriptor&) const = default;
};
struct OwnedRequest {
  std::string domain;
  std::vector<OwnedDescriptor> descriptors;
  std::int64_t hits_addend = 0;
  bool operator==(const OwnedRequest&) const = default;
};

OwnedRequest Own(const RateLimitInput& in) {
  OwnedRequest r;
  r.domain = std::string(in.domain);
  r.hits_addend = in.hits_addend;
  for (const auto& d : in.descriptors) {
    OwnedDescriptor od;
    for (const auto& e : d.entries) od.entries.push_back({std::string(e.key), std::string(e.value)});
    if (d.limit) {
      od.limit_rpu = d.limit->requests_per_unit;
      od.limit_unit = d.limit->unit;
    }
    od.hits = d.hits;
    r.descriptors.push_back(std::move(od));
  }
  return r;
}

// The bounds json_api.h and ADR 0012 promise for an accepted request.
void CheckBounds(const OwnedRequest& r) {
  Check(r.hits_addend != 0);  // proto3's 0 reads as 1
  Check(r.descriptors.size() <= 64);
  for (const auto& d : r.descriptors) {
    Check(!d.entries.empty() && d.entries.size() <= 64);
    Check(d.limit_rpu.has_value() == d.limit_unit.has_value());
    if (d.limit_unit) Check(EnvoyUnitNumber(*d.limit_unit) >= 1 && EnvoyUnitNumber(*d.limit_unit) <= 7);
  }
}

// A JSON string with only what JSON requires escaped: the request's strings
// are valid UTF-8 (simdjson checked), so the rest passes through.
void AppendString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

// The request as proto3 JSON; `style` picks field spellings and encodings
// so that every accepted form is written somewhere.
std::string Write(const OwnedRequest& r, unsigned style) {
  const bool camel = (style & 1) != 0;
  const bool int_strings = (style & 2) != 0;
  const bool unit_numbers = (style & 4) != 0;
  auto integer = [&](std::int64_t n) {
    return int_strings ? "\"" + std::to_string(n) + "\"" : std::to_string(n);
  };
  std::string out = "{";
  out.append(camel ? "\"hitsAddend\":" : "\"hits_addend\":").append(integer(r.hits_addend));
  out.append(",\"domain\":");
  AppendString(&out, r.domain);
  out.append(",\"descriptors\":[");
  for (std::size_t i = 0; i < r.descriptors.size(); ++i) {
    const OwnedDescriptor& d = r.descriptors[i];
    out.append(i ? ",{" : "{").append("\"entries\":[");
    for (std::size_t j = 0; j < d.entries.size(); ++j) {
      out.append(j ? ",{\"value\":" : "{\"value\":");
      AppendString(&out, d.entries[j].value);
      out.append(",\"key\":");
      AppendString(&out, d.entries[j].key);
      out.push_back('}');
    }
    out.push_back(']');
    if (d.limit_rpu) {
      out.append(",\"limit\":{\"unit\":");
      if (unit_numbers) {
        out.append(integer(EnvoyUnitNumber(*d.limit_unit)));
      } else {
        AppendString(&out, EnvoyUnitName(*d.limit_unit));
      }
      out.append(camel ? ",\"requestsPerUnit\":" : ",\"requests_per_unit\":").append(integer(*d.limit_rpu));
      out.push_back('}');
    }
    if (d.hits) out.append(camel ? ",\"hitsAddend\":" : ",\"hits_addend\":").append(integer(*d.hits));
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

// Parses the "60s" / "-0.250s" form back to nanoseconds; nullopt when it is
// not one of the forms protobuf writes (0, 3, 6 or 9 fractional digits).
std::optional<__int128> ReadDuration(const std::string& s) {
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) ++i;
  __int128 seconds = 0;
  const std::size_t digits_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') seconds = seconds * 10 + (s[i++] - '0');
  if (i == digits_start) return std::nullopt;
  __int128 frac = 0;
  if (i < s.size() && s[i] == '.') {
    const std::size_t frac_start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') frac = frac * 10 + (s[i++] - '0');
    const std::size_t n = i - frac_start;
    if (n != 3 && n != 6 && n != 9) return std::nullopt;
    for (std::size_t k = n; k < 9; ++k) frac *= 10;
    if (frac == 0 || frac % 1000 == 0) return std::nullopt;  // not the shortest form
  }
  if (i + 1 != s.size() || s[i] != 's') return std::nullopt;
  const __int128 ns = seconds * 1'000'000'000 + frac;
  return negative ? -ns : ns;
}

// Whether s is well-formed UTF-8 (nlohmann::json refuses to dump it otherwise).
bool IsUtf8(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// keel::AppendJsonString on raw bytes (a limit name from the rules file, an
// error message quoting the network): always a valid JSON string, and the
// same string when the bytes were well-formed UTF-8.
void CheckJsonString(std::string_view raw) {
  std::string out;
  keel::AppendJsonString(&out, raw);
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  Check(!j.is_discarded() && j.is_string());
  if (IsUtf8(raw)) Check(j.get<std::string>() == raw);
}

// Derives an answer from the request, writes it and reads it back.
void CheckResponse(const OwnedRequest& r) {
  std::vector<LimitRule> rules(r.descriptors.size());  // current_limit targets
  RateLimitOutput out;
  out.overall_code = static_cast<ResponseCode>(static_cast<std::uint64_t>(r.hits_addend) % 3);
  for (std::size_t i = 0; i < r.descriptors.size(); ++i) {
    const OwnedDescriptor& d = r.descriptors[i];
    const std::int64_t hits = d.hits.value_or(r.hits_addend);
    const auto bits = static_cast<std::uint64_t>(hits);
    DescriptorOutput s;
    s.code = static_cast<ResponseCode>(bits % 3);
    if (d.limit_rpu) {
      s.overridden = true;
      s.override_limit = LimitOverride{*d.limit_rpu, *d.limit_unit};
    } else if ((bits & 4) == 0) {
      rules[i].name = d.entries.front().value;
      rules[i].spec.requests_per_unit = static_cast<std::uint32_t>(bits >> 8);
      rules[i].spec.unit = static_cast<Unit>((bits >> 3) % 7);
      s.current_limit = &rules[i];
    }
    s.limit_remaining = static_cast<std::uint32_t>(bits >> 16);
    s.duration_until_reset = Duration(hits);  // any int64, negative too
    out.statuses.push_back(s);
  }

  std::string body = "prefix";  // AppendResponseJson appends
  AppendResponseJson(out, &body);
  Check(body.compare(0, 6, "prefix") == 0);
  const nlohmann::json j = nlohmann::json::parse(body.begin() + 6, body.end(), nullptr, false);
  Check(!j.is_discarded() && j.is_object());
  static constexpr const char* kCodes[] = {"UNKNOWN", "OK", "OVER_LIMIT"};
  Check(j.at("overallCode") == kCodes[static_cast<int>(out.overall_code)]);
  const auto& statuses = j.at("statuses");
  Check(statuses.is_array() && statuses.size() == out.statuses.size());
  for (std::size_t i = 0; i < out.statuses.size(); ++i) {
    const DescriptorOutput& s = out.statuses[i];
    const auto& js = statuses[i];
    Check(js.at("code") == kCodes[static_cast<int>(s.code)]);
    Check(js.value("limitRemaining", std::uint64_t{0}) == s.limit_remaining);
    const bool has_limit = s.overridden || s.current_limit;
    Check(js.contains("currentLimit") == has_limit);
    Check(js.contains("durationUntilReset") == has_limit);
    if (!has_limit) continue;
    const auto& limit = js.at("currentLimit");
    const std::uint32_t rpu = s.overridden ? s.override_limit.requests_per_unit : s.current_limit->spec.requests_per_unit;
    const Unit unit = s.overridden ? s.override_limit.unit : s.current_limit->spec.unit;
    Check(limit.value("requestsPerUnit", std::uint64_t{0}) == rpu);
    Check(limit.at("unit") == std::string(EnvoyUnitName(unit)));
    if (!s.overridden && !s.current_limit->name.empty()) {
      Check(limit.at("name") == s.current_limit->name);  // valid UTF-8: simdjson checked it
    } else {
      Check(!limit.contains("name"));
    }
    const auto ns = ReadDuration(js.at("durationUntilReset").get<std::string>());
    Check(ns.has_value() && *ns == s.duration_until_reset.count());
  }
}

// Warms the parser up with a request larger than most inputs, as a worker
// thread's parser is after serving traffic.
constexpr std::string_view kWarmUp =
    R"({"domain":"warm","hits_addend":3,"descriptors":[)"
    R"({"entries":[{"key":"a","value":"1"},{"key":"b","value":"2"},{"key":"c","value":"3"}]},)"
    R"({"entries":[{"key":"d","value":"4"}],"limit":{"unit":"MINUTE","requests_per_unit":5},"hits_addend":-2},)"
    R"({"entries":[{"key":"e","value":"5"},{"key":"f","value":"6"}]}]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;  // HTTP bodies are bounded upstream
  std::unique_ptr<char[]> copy(new char[size]);
  if (size) std::memcpy(copy.get(), data, size);
  const std::string_view body(copy.get(), size);
  CheckJsonString(body.substr(0, 512));

  JsonRequestParser parser;
  RateLimitInput input;
  Check(parser.Parse(kWarmUp, &input).ok());

  const keel::Status first = parser.Parse(body, &input);
  std::optional<OwnedRequest> parsed;
  if (first.ok()) parsed = Own(input);
  const keel::Status second = parser.Parse(body, &input);
  Check(first.ok() == second.ok());
  if (!first.ok()) {
    Check(first.code() == keel::StatusCode::kInvalidArgument);
    Check(!first.message().empty());
    Check(first.message() == second.message());
    return 0;
  }
  Check(Own(input) == *parsed);
  CheckBounds(*parsed);

  const unsigned style = size ? data[size - 1] : 0;
  const std::string canonical = Write(*parsed, style);
  JsonRequestParser other;
  RateLimitInput again;
  Check(other.Parse(canonical, &again).ok());
  Check(Own(again) == *parsed);

  CheckResponse(*parsed);
  return 0;
}
