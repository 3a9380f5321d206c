#include "admin.h"

#include <algorithm>

namespace keel::ratelimit {
namespace {

std::string_view ResultName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kInternal: return "internal";
    case StatusCode::kUnauthenticated: return "unauthenticated";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kResourceExhausted: return "resource_exhausted";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kAborted: return "aborted";
  }
  return "internal";
}

// Equal without an early exit on the first differing byte: how long a guess
// took says nothing about how much of it was right.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void CollectRules(const RuleConfig::Node& node, std::vector<const Rule*>* out) {
  if (node.rule) out->push_back(node.rule.get());
  for (const auto& [key, child] : node.children) CollectRules(child, out);
}

std::vector<DescriptorEntry> Views(const std::vector<OwnedEntry>& entries) {
  std::vector<DescriptorEntry> out;
  out.reserve(entries.size());
  for (const OwnedEntry& e : entries) out.push_back(e.view());
  return out;
}

}  // namespace

Status ValidateKey(std::string_view domain, std::span<const DescriptorEntry> entries) {
  if (domain.empty()) return InvalidArgument("domain: required");
  if (entries.empty()) return InvalidArgument("entries: required non-empty list");
  if (entries.size() > kMaxDescriptorsPerCall) return InvalidArgument("entries: at most 64");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].key.empty()) return InvalidArgument("entries[" + std::to_string(i) + "].key: required");
  }
  return Status::Ok();
}

Admin::Admin(Limiter& limiter, AdminOptions options, obs::Registry& registry)
    : limiter_(limiter), options_(std::move(options)) {
  calls_ = &registry.AddCounter("keel_ratelimit_admin_calls_total",
                                "Admin API calls (HTTP and gRPC) by operation and result.", {"op", "result"});
}

Status Admin::Count(std::string_view op, Status s) const {
  calls_->Get({op, ResultName(s.code())})->Inc();
  return s;
}

Status Admin::Authorize(std::string_view authorization) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.empty()) return Count("authorize", Unauthenticated("missing bearer token"));
  if (authorization.size() < kScheme.size() || authorization.substr(0, kScheme.size()) != kScheme ||
      !ConstantTimeEquals(authorization.substr(kScheme.size()), options_.token)) {
    return Count("authorize", Unauthenticated("wrong bearer token"));
  }
  return Status::Ok();
}

StatusOr<RuleList> Admin::ListRules(std::string_view domain) const {
  RuleList list;
  list.config = limiter_.config();
  for (const std::string& d : list.config->domains()) {
    if (domain.empty() || d == domain) CollectRules(*list.config->domain_root(d), &list.rules);
  }
  if (!domain.empty() && !list.config->domain_root(domain)) {
    return Count("list_rules", NotFound("no domain '" + std::string(domain) + "' in the rules"));
  }
  Count("list_rules", Status::Ok());
  return list;
}

OverrideInfo Admin::Describe(KeyOverride o, const RuleConfig& config) const {
  OverrideInfo info;
  if (const Rule* rule = config.Match(o.domain, Views(o.entries))) info.rule = rule->full_key;
  if (o.expires_at) info.expires_in = std::max(Duration(0), *o.expires_at - limiter_.clock().Now());
  info.override = std::move(o);
  return info;
}

StatusOr<OverrideInfo> Admin::PutOverride(OverrideRequest request) {
  const std::vector<DescriptorEntry> views = Views(request.entries);
  if (Status s = ValidateKey(request.domain, views); !s.ok()) return Count("put_override", s);
  constexpr Duration kMaxTtl = std::chrono::hours(24 * 3660);
  if (request.ttl && (request.ttl->count() <= 0 || *request.ttl > kMaxTtl)) {
    return Count("put_override", InvalidArgument("ttl: must be > 0 and at most 3660 days"));
  }
  KeyOverride o;
  o.domain = std::move(request.domain);
  o.entries = std::move(request.entries);
  o.limit = request.limit;
  o.unlimited = request.unlimited;
  if (request.ttl) o.expires_at = limiter_.clock().Now() + *request.ttl;
  KeyOverride copy = o;
  if (Status s = limiter_.PutOverride(std::move(o)); !s.ok()) return Count("put_override", s);
  Count("put_override", Status::Ok());
  return Describe(std::move(copy), *limiter_.config());
}

Status Admin::DeleteOverride(std::string_view domain, std::span<const DescriptorEntry> entries) {
  if (Status s = ValidateKey(domain, entries); !s.ok()) return Count("delete_override", s);
  return Count("delete_override", limiter_.DeleteOverride(domain, entries));
}

std::vector<OverrideInfo> Admin::ListOverrides(std::string_view domain) const {
  const auto config = limiter_.config();
  std::vector<OverrideInfo> out;
  for (KeyOverride& o : limiter_.Overrides()) {
    if (domain.empty() || o.domain == domain) out.push_back(Describe(std::move(o), *config));
  }
  Count("list_overrides", Status::Ok());
  return out;
}

Status Admin::ResetKey(std::string_view domain, std::span<const DescriptorEntry> entries) {
  if (Status s = ValidateKey(domain, entries); !s.ok()) return Count("reset_key", s);
  return Count("reset_key", limiter_.Reset(domain, entries));
}

StatusOr<KeyState> Admin::GetKeyState(std::string_view domain, std::span<const DescriptorEntry> entries) {
  if (Status s = ValidateKey(domain, entries); !s.ok()) return Count("get_key_state", s);
  RateLimitOutput out;
  if (Status s = limiter_.Inspect(domain, entries, &out); !s.ok()) return Count("get_key_state", s);
  KeyState state;
  state.status = out.statuses.at(0);
  state.config = std::move(out.config);
  if (const Rule* rule = state.config->Match(domain, entries)) state.rule = rule->full_key;
  if (auto o = limiter_.FindOverride(domain, entries)) state.override = Describe(std::move(*o), *state.config);
  Count("get_key_state", Status::Ok());
  return state;
}

StatusOr<ReloadResult> Admin::Reload() {
  if (!options_.reload) return Count("reload", FailedPrecondition("no rules file to reload"));
  if (Status s = options_.reload(); !s.ok()) {
    return Count("reload", s.code() == StatusCode::kInvalidArgument ? FailedPrecondition(s.message()) : s);
  }
  const auto config = limiter_.config();
  Count("reload", Status::Ok());
  return ReloadResult{config->rule_count(), config->domains().size()};
}

}  // namespace keel::ratelimit
