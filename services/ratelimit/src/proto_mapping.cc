#include "proto_mapping.h"

namespace keel::ratelimit {

Status FromProto(const RlsRequest& request, RateLimitInput* input) {
  if (request.domain().empty()) return InvalidArgument("rate limit domain must not be empty");
  if (request.descriptors_size() == 0) return InvalidArgument("rate limit descriptor list must not be empty");
  input->domain = request.domain();
  input->hits_addend = request.hits_addend() == 0 ? 1 : request.hits_addend();
  input->descriptors.resize(static_cast<std::size_t>(request.descriptors_size()));
  for (int i = 0; i < request.descriptors_size(); ++i) {
    const auto& d = request.descriptors(i);
    DescriptorInput& in = input->descriptors[static_cast<std::size_t>(i)];
    if (d.entries_size() == 0) {
      return InvalidArgument("descriptor " + std::to_string(i) + " has no entries");
    }
    in.entries.clear();
    for (const auto& e : d.entries()) in.entries.push_back({e.key(), e.value()});
    in.limit.reset();
    if (d.has_limit()) {
      const std::optional<Unit> unit = UnitFromEnvoyNumber(d.limit().unit());
      if (!unit) {
        return InvalidArgument("descriptor " + std::to_string(i) + ": limit override needs a unit");
      }
      in.limit = LimitOverride{d.limit().requests_per_unit(), *unit};
    }
    in.hits.reset();
    if (d.has_hits_addend()) in.hits = static_cast<std::int64_t>(d.hits_addend().value());
  }
  return Status::Ok();
}

void ToProto(const RateLimitOutput& output, RlsResponse* response) {
  response->set_overall_code(static_cast<RlsResponse::Code>(output.overall_code));
  for (const DescriptorOutput& d : output.statuses) {
    auto* s = response->add_statuses();
    s->set_code(static_cast<RlsResponse::Code>(d.code));
    if (d.overridden) {
      auto* limit = s->mutable_current_limit();
      limit->set_requests_per_unit(d.override_limit.requests_per_unit);
      limit->set_unit(static_cast<RlsResponse::RateLimit::Unit>(EnvoyUnitNumber(d.override_limit.unit)));
    } else if (d.current_limit) {
      auto* limit = s->mutable_current_limit();
      limit->set_requests_per_unit(d.current_limit->spec.requests_per_unit);
      limit->set_unit(static_cast<RlsResponse::RateLimit::Unit>(EnvoyUnitNumber(d.current_limit->spec.unit)));
      limit->set_name(d.current_limit->name);
    }
    s->set_limit_remaining(d.limit_remaining);
    if (d.current_limit || d.overridden) {
      const auto ns = d.duration_until_reset.count();
      auto* reset = s->mutable_duration_until_reset();
      reset->set_seconds(ns / 1'000'000'000);
      reset->set_nanos(static_cast<std::int32_t>(ns % 1'000'000'000));
    }
  }
}

}  // namespace keel::ratelimit
