// libFuzzer target for RuleConfig::Parse (the rules file, read at start and
// on every reload) and RuleConfig::Match.
//
// A rejected file must come back as InvalidArgument naming the source. An
// accepted one must be internally consistent: rule_count() matches the
// rules in the trees, every rule's limits respect their documented bounds,
// every wildcard names a child. Then descriptors are matched two ways:
// walked down the parsed trees (with each child's "key_value" split at an
// underscore, which must find exactly that child's rule), and made of the
// input's words (any answer, but no crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/ratelimit/rule_config.h"
#include "keel/ratelimit/store.h"

namespace {

using keel::ratelimit::DescriptorEntry;
using keel::ratelimit::Rule;
using keel::ratelimit::RuleConfig;
using keel::ratelimit::Store;

constexpr std::string_view kSource = "fuzz.yaml";

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckRule(const Rule& rule, std::string_view domain) {
  Check(rule.full_key.size() > domain.size() && rule.full_key.compare(0, domain.size(), domain) == 0 &&
        rule.full_key[domain.size()] == '.');
  Check(rule.limits.size() <= Store::kMaxLimitsPerCall);
  if (rule.unlimited) Check(rule.limits.empty());
  Check(rule.store_limits.size() == rule.store_limit_rules.size());
  std::size_t with_limit = 0;
  for (const auto& l : rule.limits) {
    Check(l.limit.has_value() == (l.spec.requests_per_unit > 0));
    if (l.limit) {
      Check(l.limit->requests_per_unit() == l.spec.requests_per_unit);
      Check(l.limit->capacity() >= 1);
      Check(l.limit->period_ns() > 0);
      ++with_limit;
    }
  }
  Check(rule.store_limits.size() == with_limit);
  for (std::size_t i = 0; i < rule.store_limits.size(); ++i) {
    const auto* from = rule.store_limit_rules[i];
    Check(from >= rule.limits.data() && from < rule.limits.data() + rule.limits.size());
    Check(from->limit && from->limit->fingerprint() == rule.store_limits[i].fingerprint());
  }
  for (const auto& name : rule.replaces) Check(!name.empty());
}

// Checks the tree under `node` and returns how many rules it holds.
std::size_t CheckTree(const RuleConfig::Node& node, std::string_view domain, int depth) {
  Check(depth <= 1000);
  std::size_t rules = 0;
  if (node.rule) {
    CheckRule(*node.rule, domain);
    ++rules;
  }
  for (const auto& w : node.wildcards) {
    Check(!w.empty() && w.back() == '*');
    Check(node.children.count(w) == 1);
  }
  for (const auto& [key, child] : node.children) {
    Check(!key.empty());
    rules += CheckTree(child, domain, depth + 1);
  }
  return rules;
}

// A small deterministic generator, seeded from the input.
class Choices {
 public:
  explicit Choices(std::string_view input) {
    for (unsigned char c : input) state_ = (state_ ^ c) * 0x100000001b3u;
  }
  std::size_t Next(std::size_t n) {
    state_ = state_ * 6364136223846793005u + 1442695040888963407u;
    return static_cast<std::size_t>(state_ >> 33) % n;
  }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325u;
};

// Walks down from the domain's root, one child per level, matching each
// prefix of the path. Where every step is an exact "key_value" split, Match
// must answer that node's rule.
void MatchAlongTree(const RuleConfig& cfg, const std::string& domain, Choices* choices) {
  const RuleConfig::Node* level = cfg.domain_root(domain);
  Check(level != nullptr);
  std::vector<std::string> storage;  // entries view into it
  storage.reserve(2 * 64);
  std::vector<DescriptorEntry> entries;
  bool exact = true;
  while (!level->children.empty() && entries.size() < 64) {
    auto it = level->children.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(choices->Next(level->children.size())));
    const std::string& key = it->first;
    const std::size_t underscore = key.find('_');
    if (underscore != std::string::npos && choices->Next(4) != 0) {
      storage.push_back(key.substr(0, underscore));
      storage.push_back(key.substr(underscore + 1));
    } else {
      // The bare key, or a value that only a wildcard or the bare key takes.
      exact = false;
      std::string k = key.back() == '*' ? key.substr(0, key.size() - 1) : key;
      storage.push_back(k);
      storage.push_back(choices->Next(2) ? "" : "fuzz-value");
    }
    entries.push_back({storage[storage.size() - 2], storage.back()});
    const Rule* rule = cfg.Match(domain, entries);
    if (exact) Check(rule == it->second.rule.get());
    if (rule) CheckRule(*rule, domain);
    level = &it->second;
  }
}

// The input's words ([A-Za-z0-9_.*/-]+), paired up as key and value.
std::vector<std::string> Words(std::string_view input) {
  std::vector<std::string> words;
  std::string word;
  for (char c : input) {
    const bool in_word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                         c == '.' || c == '*' || c == '/' || c == '-';
    if (in_word) {
      word.push_back(c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
    if (words.size() == 128) break;
  }
  if (!word.empty() && words.size() < 128) words.push_back(std::move(word));
  return words;
}

void MatchInputWords(const RuleConfig& cfg, const std::string& domain, const std::vector<std::string>& words) {
  std::vector<DescriptorEntry> entries;
  for (std::size_t i = 0; i + 1 < words.size() && entries.size() < 8; i += 2) {
    entries.push_back({words[i], words[i + 1]});
    if (const Rule* rule = cfg.Match(domain, entries)) CheckRule(*rule, domain);
  }
  for (std::size_t i = 0; i < words.size() && i < 8; ++i) {
    const DescriptorEntry one{words[i], words[i]};
    if (const Rule* rule = cfg.Match(domain, {&one, 1})) CheckRule(*rule, domain);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return 0;
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto parsed = RuleConfig::Parse(yaml, std::string(kSource));
  if (!parsed.ok()) {
    const keel::Status& st = parsed.status();
    Check(st.code() == keel::StatusCode::kInvalidArgument);
    Check(st.message().size() > kSource.size() + 2 && st.message().compare(0, kSource.size(), kSource) == 0);
    return 0;
  }
  const RuleConfig& cfg = **parsed;
  Check(cfg.text() == yaml);
  const std::vector<std::string> domains = cfg.domains();
  Check(!domains.empty());

  std::size_t rules = 0;
  for (const std::string& domain : domains) {
    Check(!domain.empty());
    rules += CheckTree(*cfg.domain_root(domain), domain, 0);
  }
  Check(rules == cfg.rule_count());

  Choices choices(yaml);
  const std::vector<std::string> words = Words(yaml);
  for (const std::string& domain : domains) {
    Check(cfg.Match(domain, {}) == nullptr);
    for (int walk = 0; walk < 4; ++walk) MatchAlongTree(cfg, domain, &choices);
    MatchInputWords(cfg, domain, words);
  }
  MatchInputWords(cfg, "no such domain", words);
  return 0;
}
