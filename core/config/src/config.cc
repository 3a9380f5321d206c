#include "keel/config/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace keel::config {
namespace {

// A finite decimal number ("0.01", "1e-3", "50"); nan and inf are refused.
StatusOr<double> ParseDouble(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) {
    return InvalidArgument("invalid number '" + text + "'");
  }
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) {
    return InvalidArgument("invalid number '" + text + "'");
  }
  return v;
}

std::string FormatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string Where(const std::string& origin) { return " (from " + origin + ")"; }

// Checks `text` against the spec; returns the reason on failure.
Status Validate(const KeySpec& spec, const std::string& text) {
  auto range_error = [&](const std::string& shown) {
    return InvalidArgument(shown + " is out of range [" + std::to_string(spec.min) + ", " +
                           std::to_string(spec.max) + "]");
  };
  switch (spec.type) {
    case Type::kString:
      return Status::Ok();
    case Type::kInt: {
      auto v = ParseInt(text);
      if (!v.ok()) return v.status();
      if (*v < spec.min || *v > spec.max) return range_error(text);
      return Status::Ok();
    }
    case Type::kBool:
      return ParseBool(text).status();
    case Type::kDouble: {
      auto v = ParseDouble(text);
      if (!v.ok()) return v.status();
      if (!(*v >= spec.min_double && *v <= spec.max_double)) {
        return InvalidArgument(text + " is out of range [" + FormatDouble(spec.min_double) +
                               ", " + FormatDouble(spec.max_double) + "]");
      }
      return Status::Ok();
    }
    case Type::kDuration: {
      auto v = ParseDuration(text);
      if (!v.ok()) return v.status();
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*v).count();
      if (ms < spec.min || ms > spec.max) {
        return InvalidArgument(text + " is out of range [" + std::to_string(spec.min) + "ms, " +
                               std::to_string(spec.max) + "ms]");
      }
      return Status::Ok();
    }
    case Type::kByteSize: {
      auto v = ParseByteSize(text);
      if (!v.ok()) return v.status();
      if (*v < static_cast<std::uint64_t>(spec.min) ||
          *v > static_cast<std::uint64_t>(spec.max)) {
        return range_error(text);
      }
      return Status::Ok();
    }
    case Type::kHostPort:
      return ParseHostPort(text).status();
    case Type::kEnum:
      for (const auto& c : spec.choices) {
        if (c == text) return Status::Ok();
      }
      {
        std::string list;
        for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
        return InvalidArgument("invalid value '" + text + "' (expected one of " + list + ")");
      }
  }
  return Internal("unknown type");
}

// Flattens nested maps into dotted keys; scalars become their text.
Status Flatten(const YAML::Node& node, const std::string& prefix,
               std::vector<std::pair<std::string, std::string>>* out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) return InvalidArgument("map keys must be strings");
      std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
      auto st = Flatten(kv.second, key, out);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }
  if (node.IsScalar()) {
    out->emplace_back(prefix, node.Scalar());
    return Status::Ok();
  }
  if (node.IsNull()) {
    if (prefix.empty()) return Status::Ok();  // empty document
    return InvalidArgument(prefix + ": has no value");
  }
  return InvalidArgument((prefix.empty() ? std::string("document") : prefix) +
                         ": expected a scalar or a map, got a list");
}

}  // namespace

Schema& Schema::Add(KeySpec spec) {
  keys_.push_back(std::move(spec));
  return *this;
}

const KeySpec* Schema::Find(const std::string& key) const {
  for (const auto& k : keys_) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

std::string Schema::EnvName(const std::string& key) {
  std::string name = "KEEL_";
  for (char c : key) {
    name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

StatusOr<Config> Config::Load(const Schema& schema, const LoadOptions& options) {
  Config cfg;
  auto set = [&](const std::string& key, const std::string& text,
                 const std::string& origin) -> Status {
    const KeySpec* spec = schema.Find(key);
    if (spec == nullptr) return InvalidArgument("config: unknown key '" + key + "'" + Where(origin));
    auto st = Validate(*spec, text);
    if (!st.ok()) return InvalidArgument("config: " + key + ": " + st.message() + Where(origin));
    cfg.values_[key] = Value{text, origin};
    return Status::Ok();
  };

  for (const auto& spec : schema.keys()) cfg.values_[spec.key] = Value{spec.default_value, "default"};

  if (!options.file.empty()) {
    std::ifstream in(options.file);
    // A directory opens fine but reads as empty: it would silently mean "all defaults".
    std::error_code ec;
    if (!in || std::filesystem::is_directory(options.file, ec)) {
      return InvalidArgument("config: cannot read file '" + options.file + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    YAML::Node root;
    try {
      root = YAML::Load(text.str());
    } catch (const YAML::Exception& e) {
      return InvalidArgument("config: " + options.file + ":" + std::to_string(e.mark.line + 1) +
                             ": invalid YAML: " + e.msg);
    }
    if (!root.IsNull() && !root.IsMap()) {
      return InvalidArgument("config: " + options.file + ": top level must be a map of keys");
    }
    for (const std::string& key : options.foreign_keys) {
      if (root.IsMap()) root.remove(key);
    }
    std::vector<std::pair<std::string, std::string>> flat;
    auto st = Flatten(root, "", &flat);
    if (!st.ok()) return InvalidArgument("config: " + st.message() + Where("file " + options.file));
    for (std::size_t i = 0; i < flat.size(); ++i) {
      const auto& [key, value] = flat[i];
      for (std::size_t j = 0; j < i; ++j) {
        if (flat[j].first == key) {
          return InvalidArgument("config: duplicate key '" + key + "'" +
                                 Where("file " + options.file));
        }
      }
      st = set(key, value, "file " + options.file);
      if (!st.ok()) return st;
    }
  }

  for (const auto& spec : schema.keys()) {
    auto it = options.env.find(Schema::EnvName(spec.key));
    if (it == options.env.end()) continue;
    auto st = set(spec.key, it->second, "env " + it->first);
    if (!st.ok()) return st;
  }

  for (const auto& o : options.overrides) {
    auto st = set(o.key, o.value, o.origin);
    if (!st.ok()) return st;
  }
  return cfg;
}

const Config::Value& Config::Get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    std::fprintf(stderr, "keel: internal error: config key '%s' not in schema\n", key.c_str());
    std::abort();
  }
  return it->second;
}

// Values were validated by Load, so the parses below cannot fail.
std::string Config::GetString(const std::string& key) const { return Get(key).text; }
std::int64_t Config::GetInt(const std::string& key) const { return *ParseInt(Get(key).text); }
double Config::GetDouble(const std::string& key) const { return *ParseDouble(Get(key).text); }
bool Config::GetBool(const std::string& key) const { return *ParseBool(Get(key).text); }
Duration Config::GetDuration(const std::string& key) const {
  return *ParseDuration(Get(key).text);
}
std::uint64_t Config::GetByteSize(const std::string& key) const {
  return *ParseByteSize(Get(key).text);
}
HostPort Config::GetHostPort(const std::string& key) const {
  return *ParseHostPort(Get(key).text);
}
std::string Config::Origin(const std::string& key) const { return Get(key).origin; }

std::string Config::Describe() const {
  std::string out;
  for (const auto& [key, v] : values_) out += key + " = " + v.text + "  (" + v.origin + ")\n";
  return out;
}

std::map<std::string, std::string> EnvFromProcess() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    if (kv.rfind("KEEL_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

}  // namespace keel::config
