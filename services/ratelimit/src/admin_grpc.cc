#include "admin_grpc.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "keel/ratelimit/admin/v1/admin.grpc.pb.h"

namespace keel::ratelimit {
namespace {

namespace pb = keel::ratelimit::admin::v1;

grpc::Status ToGrpc(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return grpc::Status::OK;
    case StatusCode::kInvalidArgument: return {grpc::StatusCode::INVALID_ARGUMENT, s.message()};
    case StatusCode::kNotFound: return {grpc::StatusCode::NOT_FOUND, s.message()};
    case StatusCode::kUnauthenticated: return {grpc::StatusCode::UNAUTHENTICATED, s.message()};
    case StatusCode::kFailedPrecondition: return {grpc::StatusCode::FAILED_PRECONDITION, s.message()};
    case StatusCode::kResourceExhausted: return {grpc::StatusCode::RESOURCE_EXHAUSTED, s.message()};
    case StatusCode::kAlreadyExists: return {grpc::StatusCode::ALREADY_EXISTS, s.message()};
    case StatusCode::kAborted: return {grpc::StatusCode::ABORTED, s.message()};
    case StatusCode::kUnavailable: return {grpc::StatusCode::UNAVAILABLE, s.message()};
    case StatusCode::kInternal: return {grpc::StatusCode::INTERNAL, s.message()};
  }
  return {grpc::StatusCode::INTERNAL, s.message()};
}

void SetDuration(Duration d, google::protobuf::Duration* out) {
  out->set_seconds(d.count() / 1'000'000'000);
  out->set_nanos(static_cast<std::int32_t>(d.count() % 1'000'000'000));
}

// Saturates at +-9e9 s (285 years; int64 nanoseconds end at 9.2e9 s) rather
// than overflowing; the admin core refuses anything that long.
Duration FromDuration(const google::protobuf::Duration& d) {
  constexpr std::int64_t kMaxSeconds = 9'000'000'000;
  const std::int64_t seconds = std::clamp<std::int64_t>(d.seconds(), -kMaxSeconds, kMaxSeconds);
  return Duration(seconds * 1'000'000'000 + d.nanos());
}

void SetLimit(const LimitSpec& spec, bool unlimited, const std::string& name, pb::Limit* out) {
  if (unlimited) {
    out->set_unlimited(true);
    return;
  }
  out->set_unit(static_cast<pb::Unit>(EnvoyUnitNumber(spec.unit)));
  out->set_requests_per_unit(spec.requests_per_unit);
  out->set_algorithm(static_cast<pb::Algorithm>(static_cast<int>(spec.algorithm) + 1));
  if (spec.burst) out->set_burst(*spec.burst);
  if (spec.lease_ttl) SetDuration(*spec.lease_ttl, out->mutable_lease_ttl());
  out->set_name(name);
}

Status FromLimit(const pb::Limit& in, OverrideRequest* out) {
  out->unlimited = in.unlimited();
  if (out->unlimited) return Status::Ok();
  const std::optional<Unit> unit = UnitFromEnvoyNumber(in.unit());
  if (!unit) return InvalidArgument("limit.unit: required (UNIT_SECOND, UNIT_MINUTE, ...)");
  out->limit.unit = *unit;
  out->limit.requests_per_unit = in.requests_per_unit();
  if (in.algorithm() < 0 || in.algorithm() > pb::ALGORITHM_CONCURRENCY) {
    return InvalidArgument("limit.algorithm: unknown value " + std::to_string(in.algorithm()));
  }
  out->limit.algorithm =
      in.algorithm() == pb::ALGORITHM_UNSPECIFIED ? Algorithm::kFixedWindow : static_cast<Algorithm>(in.algorithm() - 1);
  if (in.has_burst()) out->limit.burst = in.burst();
  if (in.has_lease_ttl()) out->limit.lease_ttl = FromDuration(in.lease_ttl());
  if (!in.name().empty()) return InvalidArgument("limit.name: only rules have names");
  return Status::Ok();
}

// Views into `key`; it must outlive them.
std::vector<DescriptorEntry> Entries(const pb::Key& key) {
  std::vector<DescriptorEntry> out;
  for (const pb::Entry& e : key.entries()) out.push_back({e.key(), e.value()});
  return out;
}

void SetOverride(const OverrideInfo& info, pb::Override* out) {
  const KeyOverride& o = info.override;
  out->mutable_key()->set_domain(o.domain);
  for (const OwnedEntry& e : o.entries) {
    pb::Entry* entry = out->mutable_key()->add_entries();
    entry->set_key(e.key);
    entry->set_value(e.value);
  }
  SetLimit(o.limit, o.unlimited, "", out->mutable_limit());
  out->set_rule(info.rule);
  if (info.expires_in) SetDuration(*info.expires_in, out->mutable_expires_in());
}

class AdminService final : public pb::RateLimitAdmin::Service {
 public:
  explicit AdminService(Admin& admin) : admin_(admin) {}

  grpc::Status ListRules(grpc::ServerContext* ctx, const pb::ListRulesRequest* req,
                         pb::ListRulesResponse* res) override {
    if (grpc::Status s = Authorize(ctx); !s.ok()) return s;
    auto list = admin_.ListRules(req->domain());
    if (!list.ok()) return ToGrpc(list.status());
    for (const Rule* rule : list->rules) {
      pb::Rule* r = res->add_rules();
      r->set_domain(rule->domain);
      r->set_key(rule->full_key);
      for (const RuleEntry& e : rule->descriptor) {
        pb::Entry* entry = r->add_match();
        entry->set_key(e.key);
        entry->set_value(e.value);
      }
      for (const LimitRule& l : rule->limits) SetLimit(l.spec, false, l.name, r->add_limits());
      r->set_unlimited(rule->unlimited);
      r->set_shadow_mode(rule->shadow_mode);
      r->set_detailed_metric(rule->detailed_metric);
      for (const std::string& name : rule->replaces) r->add_replaces(name);
    }
    return grpc::Status::OK;
  }

  grpc::Status PutOverride(grpc::ServerContext* ctx, const pb::PutOverrideRequest* req, pb::Override* res) override {
    if (grpc::Status s = Authorize(ctx); !s.ok()) return s;
    OverrideRequest o;
    o.domain = req->key().domain();
    for (const pb::Entry& e : req->key().entries()) o.entries.push_back({e.key(), e.value()});
    if (!req->has_limit()) return ToGrpc(InvalidArgument("limit: required"));
    if (Status s = FromLimit(req->limit(), &o); !s.ok()) return ToGrpc(s);
    if (req->has_ttl()) o.ttl = FromDuration(req->ttl());
    auto put = admin_.PutOverride(std::move(o));
    if (!put.ok()) return ToGrpc(put.status());
    SetOverride(*put, res);
    return grpc::Status::OK;
  }

  grpc::Status DeleteOverride(grpc::ServerContext* ctx, const pb::DeleteOverrideRequest* req,
                              pb::DeleteOverrideResponse*) override {
    if (grpc::Status s = Authorize(ctx); !s.ok()) return s;
    return ToGrpc(admin_.DeleteOverride(req->key().domain(), Entries(req->key())));
  }

  grpc::Status ListOverrides(grpc::ServerContext* ctx, const pb::ListOverridesRequest* req,
                             pb::ListOverridesResponse* res) override {
    if (grpc::Status s = Authorize(ctx); !s.ok()) return s;
    for (const OverrideInfo& o : admin_.ListOverrides(req->domain())) SetOverride(o, res->add_overrides());
    return grpc::Status::OK;
  }

  grpc::Status ResetKey(grpc::ServerContext* ctx, const pb::ResetKeyRequest* req, pb::ResetKeyResponse*) override {
    if (grpc::Status s = Authorize(ctx); !s.ok()) return s;
    return ToGrpc(admin_.ResetKey(req->key().domain(), Entries(req->key())));
  }

  grpc::Status GetKeyState(grpc::ServerContext* ctx, const pb::GetKeyStateRequest* req, pb::KeyState* res) override {
    if (grpc::Status s = Authorize(ctx); !s.ok()) return s;
    auto state = admin_.GetKeyState(req->key().domain(), Entries(req->key()));
    if (!state.ok()) return ToGrpc(state.status());
    const DescriptorOutput& d = state->status;
    res->set_code(static_cast<pb::KeyState::Code>(d.code));
    if (d.overridden) {
      LimitSpec spec;
      spec.unit = d.override_limit.unit;
      spec.requests_per_unit = d.override_limit.requests_per_unit;
      if (state->override) spec = state->override->override.limit;
      SetLimit(spec, false, "", res->mutable_current_limit());
    } else if (d.current_limit) {
      SetLimit(d.current_limit->spec, false, d.current_limit->name, res->mutable_current_limit());
    }
    res->set_limit_remaining(d.limit_remaining);
    if (d.overridden || d.current_limit) SetDuration(d.duration_until_reset, res->mutable_duration_until_reset());
    res->set_rule(state->rule);
    if (state->override) SetOverride(*state->override, res->mutable_active_override());
    return grpc::Status::OK;
  }

  grpc::Status Reload(grpc::ServerContext* ctx, const pb::ReloadRequest*, pb::ReloadResponse* res) override {
    if (grpc::Status s = Authorize(ctx); !s.ok()) return s;
    auto r = admin_.Reload();
    if (!r.ok()) return ToGrpc(r.status());
    res->set_rules(static_cast<std::uint32_t>(r->rules));
    res->set_domains(static_cast<std::uint32_t>(r->domains));
    return grpc::Status::OK;
  }

 private:
  grpc::Status Authorize(grpc::ServerContext* ctx) const {
    if (!admin_.enabled()) return {grpc::StatusCode::UNIMPLEMENTED, "admin API disabled (no admin.token_file)"};
    const auto& md = ctx->client_metadata();
    const auto it = md.find("authorization");
    const std::string_view value = it == md.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
    return ToGrpc(admin_.Authorize(value));
  }

  Admin& admin_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewAdminGrpcService(Admin& admin) { return std::make_unique<AdminService>(admin); }

}  // namespace keel::ratelimit
