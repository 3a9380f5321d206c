#include "keel/ratelimit/rule_config.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "keel/base/units.h"
#include "keel/ratelimit/store.h"

namespace keel::ratelimit {
namespace {

// Nested descriptors deeper than this cannot be useful (a POST /json
// descriptor has at most 64 entries) and are most likely an alias that refers
// to its own list, which would otherwise recurse until the stack overflows.
constexpr int kMaxDescriptorDepth = 64;

// Aliases let a short file stand for an exponentially large one ("billion
// laughs"). Every map entry and list item the parser visits is counted, and
// a file may visit at most one per byte of its text (or kMinVisitBudget, if
// more): a file without aliases always fits, one with aliases for shared
// limits too, and no file makes a reload take more than linear time.
constexpr std::size_t kMinVisitBudget = 100'000;

// yaml-cpp 0.7's LoadAll loops forever, allocating until std::bad_alloc, on
// a document that starts with a token no node can start with, such as a
// stray ',' (jbeder/yaml-cpp#1040): the parser reports an empty document
// without consuming the token, then is asked for the next one. This handler,
// for a first pass that builds nothing, notices a document that starts where
// the previous one did.
class ProgressCheck : public YAML::EventHandler {
 public:
  // Where the parser got stuck, if it did.
  std::optional<YAML::Mark> stuck() const { return stuck_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (mark.pos <= last_start_) stuck_ = mark;
    last_start_ = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  int last_start_ = -1;
  std::optional<YAML::Mark> stuck_;
};

// YAML::LoadAll, unless the parser would get stuck. Throws what LoadAll throws.
StatusOr<std::vector<YAML::Node>> LoadAll(const std::string& yaml, const std::string& source) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  ProgressCheck check;
  while (parser.HandleNextDocument(check)) {
    if (const auto at = check.stuck()) {
      const char c = at->pos >= 0 && static_cast<std::size_t>(at->pos) < yaml.size() ? yaml[at->pos] : ' ';
      return InvalidArgument(source + ": YAML: error at line " + std::to_string(at->line + 1) + ", column " +
                             std::to_string(at->column + 1) + ": unexpected " +
                             (c > ' ' && c < 0x7f ? std::string("'") + c + "'" : std::string("token")));
    }
  }
  return YAML::LoadAll(yaml);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Parser {
 public:
  Parser(std::string source, std::size_t visit_budget)
      : source_(std::move(source)), visit_budget_(visit_budget), visits_left_(visit_budget) {}

  Status Fail(const std::string& path, const std::string& why) const {
    return InvalidArgument(source_ + ": " + path + ": " + why);
  }

  // Counts n more nodes visited against the budget.
  Status Visit(std::size_t n, const std::string& path) {
    if (n > visits_left_) {
      return Fail(path, "too large with its aliases expanded (more than " + std::to_string(visit_budget_) +
                            " map entries and list items)");
    }
    visits_left_ -= n;
    return Status::Ok();
  }

  StatusOr<FailMode> ParseFailMode(const YAML::Node& node, const std::string& path) {
    auto m = Str(node, path);
    if (!m.ok()) return m.status();
    if (*m == "open") return FailMode::kOpen;
    if (*m == "closed") return FailMode::kClosed;
    if (*m == "local") return FailMode::kLocal;
    return Fail(path, "must be open, closed or local");
  }

  Status Keys(const YAML::Node& node, const std::string& path, const std::set<std::string>& known) {
    if (!node.IsMap()) return Fail(path, "expected a map");
    if (Status s = Visit(node.size(), path); !s.ok()) return s;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (!known.count(key)) return Fail(path.empty() ? key : path + "." + key, "unknown key");
    }
    return Status::Ok();
  }

  StatusOr<std::string> Str(const YAML::Node& node, const std::string& path) const {
    if (!node.IsScalar()) return Fail(path, "expected a string");
    return node.Scalar();
  }

  StatusOr<bool> Bool(const YAML::Node& node, const std::string& path) const {
    bool v = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v)) return Fail(path, "expected true or false");
    return v;
  }

  StatusOr<std::uint32_t> Count(const YAML::Node& node, const std::string& path) const {
    if (!node.IsScalar()) return Fail(path, "expected a whole number");
    auto v = ParseInt(node.Scalar());
    if (!v.ok() || *v < 0 || *v > UINT32_MAX) return Fail(path, "expected a whole number from 0 to 4294967295, got '" + node.Scalar() + "'");
    return static_cast<std::uint32_t>(*v);
  }

  Status NameAndReplaces(const YAML::Node& node, const std::string& path, LimitRule* limit,
                         std::vector<std::string>* replaces) {
    if (node["name"]) {
      auto n = Str(node["name"], path + ".name");
      if (!n.ok()) return n.status();
      limit->name = *n;
    }
    if (const YAML::Node r = node["replaces"]) {
      if (!r.IsSequence()) return Fail(path + ".replaces", "expected a list of {name: ...}");
      if (Status s = Visit(r.size(), path + ".replaces"); !s.ok()) return s;
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::string rp = path + ".replaces[" + std::to_string(i) + "]";
        if (Status s = Keys(r[i], rp, {"name"}); !s.ok()) return s;
        auto n = r[i]["name"] ? Str(r[i]["name"], rp + ".name") : StatusOr<std::string>(std::string());
        if (!n.ok()) return n.status();
        if (n->empty()) return Fail(rp + ".name", "should not be empty");
        if (*n == limit->name) return Fail(rp + ".name", "a limit cannot replace itself");
        replaces->push_back(*n);
      }
    }
    return Status::Ok();
  }

  StatusOr<LimitRule> Limit(const YAML::Node& node, const std::string& path, bool* unlimited,
                            std::vector<std::string>* replaces) {
    if (Status s = Keys(node, path, {"unit", "requests_per_unit", "unlimited", "name", "replaces", "algorithm", "burst"});
        !s.ok()) {
      return s;
    }
    LimitRule limit;
    if (node["unlimited"]) {
      auto u = Bool(node["unlimited"], path + ".unlimited");
      if (!u.ok()) return u.status();
      *unlimited = *unlimited || *u;
      if (*u && node["unit"]) return Fail(path + ".unit", "should not be given with unlimited");
    }
    if (Status s = NameAndReplaces(node, path, &limit, replaces); !s.ok()) return s;
    if (*unlimited) return limit;
    if (!node["unit"]) return Fail(path + ".unit", "required (second, minute, hour, day, week, month, year)");
    auto unit = Str(node["unit"], path + ".unit");
    if (!unit.ok()) return unit.status();
    auto parsed_unit = ParseUnit(Lower(*unit));
    if (!parsed_unit.ok()) return Fail(path + ".unit", parsed_unit.status().message());
    limit.spec.unit = *parsed_unit;
    if (!node["requests_per_unit"]) return Fail(path + ".requests_per_unit", "required");
    auto rpu = Count(node["requests_per_unit"], path + ".requests_per_unit");
    if (!rpu.ok()) return rpu.status();
    limit.spec.requests_per_unit = *rpu;
    if (node["algorithm"]) {
      auto a = Str(node["algorithm"], path + ".algorithm");
      if (!a.ok()) return a.status();
      auto algorithm = ParseAlgorithm(*a);
      if (!algorithm.ok()) return Fail(path + ".algorithm", algorithm.status().message());
      limit.spec.algorithm = *algorithm;
    }
    if (node["burst"]) {
      auto b = Count(node["burst"], path + ".burst");
      if (!b.ok()) return b.status();
      limit.spec.burst = *b;
    }
    if (limit.spec.requests_per_unit > 0) {
      auto created = Limit::Create(limit.spec);
      if (!created.ok()) return Fail(path, created.status().message());
      limit.limit = *created;
    } else if (limit.spec.burst) {
      return Fail(path + ".burst", "has no meaning with requests_per_unit 0 (every hit is denied)");
    }
    return limit;
  }

  // `depth` is 1 for a domain's own descriptors.
  // `domain` and `entries` (the path down to `list`) are recorded in each Rule.
  Status Descriptors(const YAML::Node& list, const std::string& path, const std::string& parent_key,
                     RuleConfig::Node* parent, std::size_t* rules, int depth, const std::string& domain,
                     std::vector<RuleEntry>* entries) {
    if (!list.IsSequence()) return Fail(path, "expected a list of descriptors");
    if (depth > kMaxDescriptorDepth) {
      return Fail(path, "descriptors nested more than " + std::to_string(kMaxDescriptorDepth) +
                            " levels deep (an alias to an enclosing list?)");
    }
    if (Status s = Visit(list.size(), path); !s.ok()) return s;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node d = list[i];
      const std::string p = path + "[" + std::to_string(i) + "]";
      if (Status s = Keys(d, p, {"key", "value", "rate_limit", "rate_limits", "descriptors", "shadow_mode", "detailed_metric",
                                 "fail_mode"});
          !s.ok()) {
        return s;
      }
      if (!d["key"]) return Fail(p + ".key", "required");
      auto key = Str(d["key"], p + ".key");
      if (!key.ok()) return key.status();
      if (key->empty()) return Fail(p + ".key", "descriptor has empty key");
      std::string final_key = *key;
      std::string entry_value;
      if (d["value"]) {
        auto value = Str(d["value"], p + ".value");
        if (!value.ok()) return value.status();
        if (!value->empty()) final_key += "_" + *value;
        entry_value = *value;
      }
      entries->push_back({*key, std::move(entry_value)});
      const std::string full_key = parent_key + final_key;
      if (parent->children.count(final_key)) return Fail(p, "duplicate descriptor composite key '" + full_key + "'");
      RuleConfig::Node node;
      if (d["rate_limit"] && d["rate_limits"]) return Fail(p, "give rate_limit or rate_limits, not both");
      if (d["rate_limit"] || d["rate_limits"]) {
        auto rule = std::make_unique<Rule>();
        rule->full_key = full_key;
        rule->domain = domain;
        rule->descriptor = *entries;
        std::vector<YAML::Node> limits;
        std::vector<std::string> paths;
        if (d["rate_limit"]) {
          limits.push_back(d["rate_limit"]);
          paths.push_back(p + ".rate_limit");
        } else {
          const YAML::Node ls = d["rate_limits"];
          if (!ls.IsSequence() || ls.size() == 0) return Fail(p + ".rate_limits", "expected a non-empty list");
          if (Status s = Visit(ls.size(), p + ".rate_limits"); !s.ok()) return s;
          for (std::size_t j = 0; j < ls.size(); ++j) {
            limits.push_back(ls[j]);
            paths.push_back(p + ".rate_limits[" + std::to_string(j) + "]");
          }
        }
        for (std::size_t j = 0; j < limits.size(); ++j) {
          auto limit = Limit(limits[j], paths[j], &rule->unlimited, &rule->replaces);
          if (!limit.ok()) return limit.status();
          if (!rule->unlimited) rule->limits.push_back(*limit);
        }
        if (rule->unlimited) rule->limits.clear();
        if (rule->limits.size() > Store::kMaxLimitsPerCall) {
          return Fail(p + ".rate_limits", "at most " + std::to_string(Store::kMaxLimitsPerCall) + " limits per descriptor");
        }
        for (const LimitRule& l : rule->limits) {
          if (!l.limit) continue;
          rule->store_limits.push_back(*l.limit);
          rule->store_limit_rules.push_back(&l);
        }
        for (const char* flag : {"shadow_mode", "detailed_metric"}) {
          if (!d[flag]) continue;
          auto b = Bool(d[flag], p + "." + flag);
          if (!b.ok()) return b.status();
          (std::string(flag) == "shadow_mode" ? rule->shadow_mode : rule->detailed_metric) = *b;
        }
        if (d["fail_mode"]) {
          auto mode = ParseFailMode(d["fail_mode"], p + ".fail_mode");
          if (!mode.ok()) return mode.status();
          rule->fail_mode = *mode;
        }
        node.rule = std::move(rule);
        ++*rules;
      } else if (d["shadow_mode"] || d["detailed_metric"] || d["fail_mode"]) {
        return Fail(p, "shadow_mode, detailed_metric and fail_mode need a rate_limit on the same descriptor");
      }
      if (d["descriptors"]) {
        if (Status s = Descriptors(d["descriptors"], p + ".descriptors", full_key + ".", &node, rules, depth + 1,
                                   domain, entries);
            !s.ok()) {
          return s;
        }
      }
      entries->pop_back();
      if (final_key.back() == '*') parent->wildcards.push_back(final_key);
      parent->children.emplace(final_key, std::move(node));
    }
    return Status::Ok();
  }

 private:
  std::string source_;
  std::size_t visit_budget_;
  std::size_t visits_left_;
};

}  // namespace

StatusOr<std::shared_ptr<const RuleConfig>> RuleConfig::Parse(const std::string& yaml, const std::string& source) {
  std::vector<YAML::Node> docs;
  try {
    auto loaded = LoadAll(yaml, source);
    if (!loaded.ok()) return loaded.status();
    docs = std::move(*loaded);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard against deep nesting ("[[[[...") says "bad file".
    return InvalidArgument(source + ": YAML: nested too deeply near line " + std::to_string(e.mark.line + 1) +
                           ", column " + std::to_string(e.mark.column + 1));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": YAML: " + e.what());
  }
  std::shared_ptr<RuleConfig> cfg(new RuleConfig());
  cfg->text_ = yaml;
  Parser parser(source, std::max(kMinVisitBudget, yaml.size()));
  try {
    bool fail_mode_set = false;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      const YAML::Node& doc = docs[i];
      if (doc.IsNull()) continue;
      const std::string where = docs.size() > 1 ? "document " + std::to_string(i + 1) : "";
      auto at = [&](const std::string& key) { return where.empty() ? key : where + "." + key; };
      if (Status s = parser.Keys(doc, where.empty() ? "top level" : where, {"domain", "descriptors", "fail_mode", "http", "grpc", "admin", "ratelimit", "log"});
          !s.ok()) {
        return s;
      }
      if (doc["fail_mode"]) {
        auto mode = parser.ParseFailMode(doc["fail_mode"], at("fail_mode"));
        if (!mode.ok()) return mode.status();
        if (fail_mode_set && *mode != cfg->fail_mode_) return parser.Fail(at("fail_mode"), "conflicts with an earlier document");
        cfg->fail_mode_ = *mode;
        fail_mode_set = true;
      }
      if (!doc["domain"]) {
        if (doc["descriptors"]) return parser.Fail(at("domain"), "config file cannot have empty domain");
        continue;
      }
      auto domain = parser.Str(doc["domain"], at("domain"));
      if (!domain.ok()) return domain.status();
      if (domain->empty()) return parser.Fail(at("domain"), "config file cannot have empty domain");
      if (cfg->domains_.count(*domain)) return parser.Fail(at("domain"), "duplicate domain '" + *domain + "'");
      Node root;
      if (doc["descriptors"]) {
        std::vector<RuleEntry> entries;
        Status s = parser.Descriptors(doc["descriptors"], at("descriptors"), *domain + ".", &root, &cfg->rule_count_, 1,
                                      *domain, &entries);
        if (!s.ok()) return s;
      }
      cfg->domains_.emplace(*domain, std::move(root));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": YAML: " + e.what());
  }
  if (cfg->domains_.empty()) return InvalidArgument(source + ": no domain defined");
  return std::shared_ptr<const RuleConfig>(std::move(cfg));
}

StatusOr<std::shared_ptr<const RuleConfig>> RuleConfig::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read rate limit config '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

const RuleConfig::Node* RuleConfig::domain_root(std::string_view domain) const {
  auto it = domains_.find(domain);
  return it == domains_.end() ? nullptr : &it->second;
}

std::vector<std::string> RuleConfig::domains() const {
  std::vector<std::string> out;
  for (const auto& [name, node] : domains_) out.push_back(name);
  return out;
}

const Rule* RuleConfig::Match(std::string_view domain, std::span<const DescriptorEntry> entries) const {
  auto d = domains_.find(domain);
  if (d == domains_.end() || entries.empty()) return nullptr;
  const Node* level = &d->second;
  const Rule* found = nullptr;
  // The key_value lookup string is rebuilt per entry, in a per-thread
  // buffer: long descriptors ("remote_address_2001:db8::1") stay off the heap.
  thread_local std::string key;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    key.assign(entries[i].key);
    key += '_';
    key += entries[i].value;
    const Node* next = nullptr;
    if (auto it = level->children.find(key); it != level->children.end()) next = &it->second;
    if (!next) {
      for (const std::string& w : level->wildcards) {
        if (std::string_view(key).substr(0, w.size() - 1) == std::string_view(w).substr(0, w.size() - 1)) {
          next = &level->children.find(w)->second;
          break;
        }
      }
    }
    if (!next) {
      if (auto it = level->children.find(entries[i].key); it != level->children.end()) next = &it->second;
    }
    if (next && next->rule && i + 1 == entries.size()) found = next->rule.get();
    if (!next || next->children.empty()) break;
    level = next;
  }
  return found;
}

}  // namespace keel::ratelimit
