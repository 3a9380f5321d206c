// The rate limiter's rules, read from YAML in envoyproxy/ratelimit's format
// and extended with algorithms, bursts and several limits per descriptor:
//
//   domain: api
//   descriptors:
//     - key: remote_address              # any value: one bucket per address
//       rate_limit: {unit: second, requests_per_unit: 10, algorithm: token_bucket, burst: 20}
//     - key: path
//       value: /login                    # only this value
//       rate_limits:                     # all must pass
//         - {unit: second, requests_per_unit: 5}
//         - {unit: day, requests_per_unit: 10000, name: login_daily}
//       shadow_mode: true                # decide and count, never deny
//     - key: tenant
//       value: "gold*"                   # prefix wildcard
//       descriptors:                     # nested: matches [tenant, user] descriptors
//         - {key: user, rate_limit: {unit: minute, requests_per_unit: 100}}
//
// Several domains go in one file as YAML documents separated by `---`; a
// top-level `fail_mode: open|closed|local` (for external stores; default
// open, as envoyproxy/ratelimit) may sit in any document, and a descriptor
// with a rate limit may set its own; Keel's own sections (http, grpc, admin, ratelimit, log) may
// share the file and are skipped here. Matching follows envoyproxy/ratelimit exactly: per entry,
// "key_value" first, then a wildcard value prefix, then the bare key (any
// value); a limit applies only when the descriptor's last entry lands on a
// rule that has one. Units and algorithms are keel::ratelimit's (limit.h);
// every limit is validated with Limit::Create when the file is read. `detailed_metric` adds the entry's value to the metric
// key; `replaces` drops the named limits of other descriptors in the same
// request; `unlimited` always allows.
//
//   auto cfg = RuleConfig::Parse(yaml_text, "ratelimit.yaml");
//   if (!cfg.ok()) LogAndKeepOld(cfg.status());          // errors name the path
//   const Rule* rule = (*cfg)->Match("api", entries);     // nullptr: no limit
//
// Thread-safety: a parsed RuleConfig is immutable; share it as
// shared_ptr<const RuleConfig> and swap the pointer on reload.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/ratelimit/key_hash.h"
#include "keel/ratelimit/limit.h"

namespace keel::ratelimit {

// One limit of a rule: the spec as written and the validated Limit the store
// applies. requests_per_unit 0 is valid (as in envoyproxy/ratelimit) and
// denies every hit; it has no Limit.
struct LimitRule {
  LimitSpec spec;
  std::optional<Limit> limit;  // unset when spec.requests_per_unit == 0
  std::string name;            // optional; what `replaces` refers to
};

// One level of a rule's descriptor path, as written: `value` empty matches
// any value; a value ending in '*' matches that prefix.
struct RuleEntry {
  std::string key;
  std::string value;
};

// When the external store does not answer: allow, deny, or decide with this
// instance's share of the limit in the embedded store.
enum class FailMode { kOpen, kClosed, kLocal };

struct Rule {
  std::string full_key;  // "api.path_/login", the metric key
  std::string domain;
  std::vector<RuleEntry> descriptor;  // the path from the domain to this rule
  std::vector<LimitRule> limits;  // empty with unlimited; at most Store::kMaxLimitsPerCall
  // The Limits of `limits` that have one, contiguous for Store::ApplyAll, and
  // which LimitRule each came from.
  std::vector<Limit> store_limits;
  std::vector<const LimitRule*> store_limit_rules;
  bool unlimited = false;
  bool shadow_mode = false;
  bool detailed_metric = false;
  std::vector<std::string> replaces;  // names of limits this rule replaces
  // What decides when the external store cannot (Redis down or slow): the
  // rule's own `fail_mode`, else the file's top-level one.
  std::optional<FailMode> fail_mode;
};

class RuleConfig {
 public:
  // Errors: InvalidArgument "<source>: <path>: <reason>", e.g.
  // "ratelimit.yaml: descriptors[2].rate_limit.unit: invalid unit 'secs'".
  // Never crashes on a bad file: YAML nested deeper than yaml-cpp allows,
  // descriptors nested more than 64 levels deep (an alias to an enclosing
  // list), and aliases that expand a file past one visited map entry or list
  // item per byte (at least 100000) are errors too.
  static StatusOr<std::shared_ptr<const RuleConfig>> Parse(const std::string& yaml, const std::string& source);
  static StatusOr<std::shared_ptr<const RuleConfig>> Load(const std::string& path);

  // The rule for a descriptor of `domain`, or nullptr when none applies.
  const Rule* Match(std::string_view domain, std::span<const DescriptorEntry> entries) const;

  FailMode fail_mode() const { return fail_mode_; }
  std::size_t rule_count() const { return rule_count_; }
  const std::string& text() const { return text_; }  // as loaded, for GET /v1/config
  std::vector<std::string> domains() const;

  struct Node;
  // The top of a domain's rule tree; nullptr for an unknown domain.
  const Node* domain_root(std::string_view domain) const;

  struct Node {
    std::map<std::string, Node, std::less<>> children;  // "key_value" or "key"
    std::vector<std::string> wildcards;                  // children keys ending in '*'
    std::unique_ptr<Rule> rule;
  };

 private:
  RuleConfig() = default;
  std::map<std::string, Node, std::less<>> domains_;
  FailMode fail_mode_ = FailMode::kOpen;
  std::size_t rule_count_ = 0;
  std::string text_;
};

}  // namespace keel::ratelimit
