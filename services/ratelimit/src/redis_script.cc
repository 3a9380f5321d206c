#include "redis_script.h"

#include <charconv>
#include <cstdio>

namespace keel::ratelimit {

namespace {

void AppendEscaped(std::string* out, std::string_view text) {
  for (char c : text) {
    if (c == '\\' || c == '|' || c == '=' || c == '{' || c == '}') out->push_back('\\');
    out->push_back(c);
  }
}

std::string Micros(std::int64_t ns) {
  // Whole microseconds print exactly; a fraction (a GCRA interval of 1/3 us)
  // keeps ns precision, which a double holds exactly at these magnitudes.
  char buf[32];
  if (ns % 1000 == 0) {
    auto r = std::to_chars(buf, buf + sizeof buf, ns / 1000);
    return std::string(buf, r.ptr);
  }
  int n = std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1000),
                        static_cast<long long>(ns % 1000));
  return std::string(buf, static_cast<std::size_t>(n));
}

Duration FromMicros(std::int64_t us) {
  if (us < 0) return kNever;
  constexpr std::int64_t kMax = Duration::max().count() / 1000;
  return Duration(us > kMax ? Duration::max().count() : us * 1000);
}

std::uint32_t ToUint32(std::int64_t v) {
  if (v < 0) return 0;
  if (v > 0xffffffffLL) return 0xffffffffU;
  return static_cast<std::uint32_t>(v);
}

}  // namespace

std::string StateKey(std::string_view domain, std::span<const DescriptorEntry> entries,
                     const Limit& limit) {
  std::string key = "rl:{";
  AppendEscaped(&key, domain);
  for (const DescriptorEntry& e : entries) {
    key.push_back('|');
    AppendEscaped(&key, e.key);
    key.push_back('=');
    AppendEscaped(&key, e.value);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(limit.fingerprint()));
  key.append("}:").append(hex, 16);
  return key;
}

void AppendApplyArgs(std::span<const Limit> limits, std::int64_t hits, std::int64_t now_us,
                     std::vector<std::string>* argv) {
  argv->push_back(std::to_string(hits));
  argv->push_back(std::to_string(now_us));
  for (const Limit& l : limits) {
    argv->push_back(std::to_string(static_cast<int>(l.algorithm())));
    argv->push_back(std::to_string(l.requests_per_unit()));
    argv->push_back(std::to_string(l.capacity()));
    // A period under 1 us (only a lease_ttl can be) is rounded up to 1 us.
    argv->push_back(Micros(std::max<std::int64_t>(l.period_ns(), 1000)));
    argv->push_back(Micros(l.emission_interval_ns()));
  }
}

Status ParseApplyReply(std::span<const std::int64_t> reply, std::span<Decision> per_limit) {
  if (reply.size() != per_limit.size() * kApplyReplyWidth) {
    return Status(StatusCode::kInternal, "rate limit script: expected " +
                                             std::to_string(per_limit.size() * kApplyReplyWidth) +
                                             " integers, got " + std::to_string(reply.size()));
  }
  for (std::size_t i = 0; i < per_limit.size(); ++i) {
    const std::int64_t* r = reply.data() + i * kApplyReplyWidth;
    if (r[0] != 0 && r[0] != 1) {
      return Status(StatusCode::kInternal, "rate limit script: bad code " + std::to_string(r[0]));
    }
    Decision& d = per_limit[i];
    d.code = r[0] == 0 ? Code::kOk : Code::kOverLimit;
    d.limit = ToUint32(r[1]);
    d.remaining = ToUint32(r[2]);
    d.reset_after = FromMicros(std::max<std::int64_t>(r[3], 0));
    d.retry_after = d.ok() ? Duration(0) : FromMicros(r[4]);
  }
  return Status::Ok();
}

}  // namespace keel::ratelimit
