// Layered configuration: defaults < YAML file < KEEL_* environment < flags.
//
// A component declares the keys it reads in a Schema, once. Loading checks
// every key against it, so a typo in a file or a bad value is reported as one
// line naming the key, the reason and where the value came from:
//
//   config: http.threads: invalid integer 'two' (from file /etc/keel.yaml)
//
// Nested YAML maps become dotted keys ("http: {threads: 2}" is "http.threads");
// the environment name of a key is KEEL_ + upper-case key with '.' -> '_'
// (KEEL_HTTP_THREADS). Unknown KEEL_* variables are ignored (other tools may
// set them); unknown keys in a file are an error.
//
//   Schema schema;
//   schema.Add({"http.threads", Type::kInt, "2", "worker threads", 1, 256});
//   StatusOr<Config> cfg = Config::Load(schema, {.file = path, .env = environ,
//                                                .overrides = {{"http.threads", "4", "flag --threads"}}});
//   int64_t n = cfg->GetInt("http.threads");
//
// Thread-safety: a loaded Config is immutable; share it as shared_ptr<const Config>.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"

namespace keel::config {

enum class Type { kString, kInt, kBool, kDuration, kByteSize, kHostPort, kEnum, kDouble };

struct KeySpec {
  std::string key;            // dotted, e.g. "http.max_header_bytes"
  Type type = Type::kString;
  std::string default_value;  // in the same text form a file or flag would use
  std::string help;
  std::int64_t min = 0;       // inclusive bounds for kInt, kByteSize (bytes), kDuration (ms)
  std::int64_t max = INT64_MAX;
  std::vector<std::string> choices;  // for kEnum
  double min_double = 0;             // inclusive bounds for kDouble
  double max_double = 1e300;
};

class Schema {
 public:
  // REQUIRES: key not already added; default_value valid for the spec.
  Schema& Add(KeySpec spec);
  const KeySpec* Find(const std::string& key) const;
  const std::vector<KeySpec>& keys() const { return keys_; }

  // KEEL_HTTP_MAX_HEADER_BYTES for "http.max_header_bytes".
  static std::string EnvName(const std::string& key);

 private:
  std::vector<KeySpec> keys_;
};

struct Override {
  std::string key;
  std::string value;
  std::string origin;  // e.g. "flag --threads", shown in error messages
};

struct LoadOptions {
  std::string file;                          // empty: no file
  std::map<std::string, std::string> env;    // usually from EnvFromProcess()
  std::vector<Override> overrides;           // flags, applied last in order
  // Top-level keys of the file that belong to another format sharing it (a
  // service's own rules, e.g. the rate limiter's `domain`/`descriptors`):
  // skipped here, read by their owner.
  std::vector<std::string> foreign_keys;
};

class Config {
 public:
  // Errors: InvalidArgument naming the key, the reason and the origin; a file
  // that cannot be read or is not valid YAML names the file.
  static StatusOr<Config> Load(const Schema& schema, const LoadOptions& options);

  // REQUIRES: key declared in the schema with the matching type.
  std::string GetString(const std::string& key) const;
  std::int64_t GetInt(const std::string& key) const;
  double GetDouble(const std::string& key) const;
  bool GetBool(const std::string& key) const;
  Duration GetDuration(const std::string& key) const;
  std::uint64_t GetByteSize(const std::string& key) const;
  HostPort GetHostPort(const std::string& key) const;

  // Where the value came from: "default", "file X", "env KEEL_X" or an override's origin.
  std::string Origin(const std::string& key) const;
  // All keys as "key = value  (origin)" lines, for `keel config` style output.
  std::string Describe() const;

 private:
  struct Value {
    std::string text;
    std::string origin;
  };
  const Value& Get(const std::string& key) const;

  std::map<std::string, Value> values_;
};

// KEEL_* variables of the current process.
std::map<std::string, std::string> EnvFromProcess();

}  // namespace keel::config
