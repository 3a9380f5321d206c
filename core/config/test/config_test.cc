#include "keel/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace keel::config {
namespace {

using ::testing::HasSubstr;

// A schema with one key of every type, like a service would declare.
Schema TestSchema() {
  Schema s;
  s.Add({"http.threads", Type::kInt, "2", "worker threads", 1, 256})
      .Add({"http.listen", Type::kHostPort, "127.0.0.1:8080", "listen address"})
      .Add({"http.max_header_bytes", Type::kByteSize, "16KiB", "header limit", 256, 1 << 24})
      .Add({"http.idle_timeout", Type::kDuration, "60s", "idle time", 1, 600000})
      .Add({"log.level", Type::kEnum, "info", "log level", 0, 0, {"debug", "info", "warn", "error"}})
      .Add({"log.access", Type::kBool, "false", "access log"})
      .Add({"service.name", Type::kString, "hello", "a free-form string"});
  return s;
}

class ConfigTest : public ::testing::Test {
 protected:
  // Writes `text` to a file unique to this test and returns its path.
  std::string WriteFile(const std::string& text) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string path = ::testing::TempDir() + "keel_config_test_" + info->name() + "_" +
                       std::to_string(files_.size()) + ".yaml";
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    EXPECT_TRUE(out) << "cannot write " << path;
    files_.push_back(path);
    return path;
  }

  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
  }

  Schema schema_ = TestSchema();

 private:
  std::vector<std::string> files_;
};

TEST_F(ConfigTest, UsesDefaultsWhenNothingElseIsGiven) {
  StatusOr<Config> cfg = Config::Load(schema_, {});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 2);
  EXPECT_EQ(cfg->GetHostPort("http.listen").host, "127.0.0.1");
  EXPECT_EQ(cfg->GetHostPort("http.listen").port, 8080);
  EXPECT_EQ(cfg->GetByteSize("http.max_header_bytes"), 16384u);
  EXPECT_EQ(cfg->GetDuration("http.idle_timeout"), std::chrono::seconds(60));
  EXPECT_EQ(cfg->GetString("log.level"), "info");
  EXPECT_FALSE(cfg->GetBool("log.access"));
  EXPECT_EQ(cfg->GetString("service.name"), "hello");
  EXPECT_EQ(cfg->Origin("http.threads"), "default");
  EXPECT_EQ(cfg->Origin("log.access"), "default");
}

TEST_F(ConfigTest, FileOverridesDefaults) {
  std::string path = WriteFile(
      "http:\n"
      "  threads: 4\n"
      "  listen: \"[::1]:9090\"\n"
      "  max_header_bytes: 32KiB\n"
      "  idle_timeout: 1500ms\n"
      "log:\n"
      "  level: debug\n"
      "  access: true\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 4);
  EXPECT_EQ(cfg->GetHostPort("http.listen").host, "::1");
  EXPECT_EQ(cfg->GetHostPort("http.listen").port, 9090);
  EXPECT_EQ(cfg->GetByteSize("http.max_header_bytes"), 32768u);
  EXPECT_EQ(cfg->GetDuration("http.idle_timeout"), std::chrono::milliseconds(1500));
  EXPECT_EQ(cfg->GetString("log.level"), "debug");
  EXPECT_TRUE(cfg->GetBool("log.access"));
  EXPECT_EQ(cfg->Origin("http.threads"), "file " + path);
  // Keys the file does not mention keep their defaults.
  EXPECT_EQ(cfg->GetString("service.name"), "hello");
  EXPECT_EQ(cfg->Origin("service.name"), "default");
}

TEST_F(ConfigTest, FileAcceptsDottedKeysAtTopLevel) {
  std::string path = WriteFile("http.threads: 5\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 5);
}

TEST_F(ConfigTest, EmptyFileKeepsDefaults) {
  std::string path = WriteFile("# nothing set yet\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 2);
  EXPECT_EQ(cfg->Origin("http.threads"), "default");
}

TEST_F(ConfigTest, EnvOverridesFile) {
  std::string path = WriteFile("http:\n  threads: 4\nlog:\n  level: warn\n");
  StatusOr<Config> cfg = Config::Load(
      schema_, {.file = path, .env = {{"KEEL_HTTP_THREADS", "6"}, {"KEEL_LOG_ACCESS", "yes"}}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 6);
  EXPECT_EQ(cfg->Origin("http.threads"), "env KEEL_HTTP_THREADS");
  EXPECT_TRUE(cfg->GetBool("log.access"));
  EXPECT_EQ(cfg->Origin("log.access"), "env KEEL_LOG_ACCESS");
  // The env does not touch what it does not name.
  EXPECT_EQ(cfg->GetString("log.level"), "warn");
  EXPECT_EQ(cfg->Origin("log.level"), "file " + path);
}

TEST_F(ConfigTest, IgnoresUnknownKeelEnvVariables) {
  StatusOr<Config> cfg =
      Config::Load(schema_, {.env = {{"KEEL_NOT_A_KEY", "x"}, {"KEEL_CONFIG", "/nowhere"}}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 2);
}

TEST_F(ConfigTest, OverridesBeatEnvAndApplyInOrder) {
  std::string path = WriteFile("http:\n  threads: 4\n");
  StatusOr<Config> cfg = Config::Load(
      schema_, {.file = path,
                .env = {{"KEEL_HTTP_THREADS", "6"}},
                .overrides = {{"http.threads", "8", "flag --threads"},
                              {"http.threads", "9", "flag --set"}}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 9);
  EXPECT_EQ(cfg->Origin("http.threads"), "flag --set");
}

TEST_F(ConfigTest, DescribeListsEveryKeyWithItsOrigin) {
  StatusOr<Config> cfg =
      Config::Load(schema_, {.overrides = {{"http.threads", "3", "flag --threads"}}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  std::string text = cfg->Describe();
  EXPECT_THAT(text, HasSubstr("http.threads = 3  (flag --threads)\n"));
  EXPECT_THAT(text, HasSubstr("log.level = info  (default)\n"));
  for (const KeySpec& spec : schema_.keys()) EXPECT_THAT(text, HasSubstr(spec.key + " = "));
}

TEST_F(ConfigTest, RejectsUnknownKeyInFileNamingKeyAndFile) {
  std::string path = WriteFile("http:\n  thread: 4\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr("http.thread"));
  EXPECT_THAT(cfg.status().message(), HasSubstr(path));
}

TEST_F(ConfigTest, RejectsUnknownOverrideKeyNamingItsOrigin) {
  StatusOr<Config> cfg = Config::Load(schema_, {.overrides = {{"http.treads", "4", "flag --set"}}});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr("'http.treads'"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("flag --set"));
}

TEST_F(ConfigTest, InvalidValueNamesKeyReasonAndOrigin) {
  std::string path = WriteFile("http:\n  threads: two\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cfg.status().message(),
            "config: http.threads: invalid integer 'two' (from file " + path + ")");
}

TEST_F(ConfigTest, InvalidEnvValueNamesTheVariable) {
  StatusOr<Config> cfg = Config::Load(schema_, {.env = {{"KEEL_LOG_ACCESS", "maybe"}}});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr("log.access"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("invalid boolean 'maybe'"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("(from env KEEL_LOG_ACCESS)"));
}

TEST_F(ConfigTest, InvalidYamlNamesFileAndLine) {
  // Line 3 is indented deeper than its sibling on line 2.
  std::string path = WriteFile("http:\n  threads: 2\n   listen: x\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr(path + ":3:"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("invalid YAML"));
}

TEST_F(ConfigTest, RejectsListValue) {
  std::string path = WriteFile("http:\n  threads: [1, 2]\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr("http.threads"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("got a list"));
  EXPECT_THAT(cfg.status().message(), HasSubstr(path));
}

TEST_F(ConfigTest, RejectsTopLevelThatIsNotAMap) {
  std::string path = WriteFile("- http.threads\n- 4\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr(path));
  EXPECT_THAT(cfg.status().message(), HasSubstr("top level must be a map"));
}

TEST_F(ConfigTest, RejectsKeySetTwiceInOneFile) {
  // The same key spelled nested and dotted: one would silently win.
  std::string path = WriteFile("http:\n  threads: 2\nhttp.threads: 3\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr("http.threads"));
  EXPECT_THAT(cfg.status().message(), HasSubstr(path));
}

TEST_F(ConfigTest, RejectsKeyWithoutValue) {
  std::string path = WriteFile("http:\n  threads:\n");
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr("http.threads: has no value"));
}

TEST_F(ConfigTest, EnumAcceptsOnlyItsChoices) {
  for (const char* level : {"debug", "info", "warn", "error"}) {
    StatusOr<Config> cfg = Config::Load(schema_, {.overrides = {{"log.level", level, "test"}}});
    ASSERT_TRUE(cfg.ok()) << level << ": " << cfg.status().message();
    EXPECT_EQ(cfg->GetString("log.level"), level);
  }
  for (const char* level : {"verbose", "INFO", ""}) {
    StatusOr<Config> cfg = Config::Load(schema_, {.overrides = {{"log.level", level, "test"}}});
    ASSERT_FALSE(cfg.ok()) << "accepted '" << level << "'";
    EXPECT_THAT(cfg.status().message(), HasSubstr("log.level"));
    EXPECT_THAT(cfg.status().message(), HasSubstr("expected one of debug, info, warn, error"));
  }
}

// Bounds are inclusive: kInt in its own unit, kByteSize in bytes, kDuration in ms.
TEST_F(ConfigTest, EnforcesInclusiveBounds) {
  struct Case {
    const char* key;
    const char* value;
    bool ok;
    const char* range;  // shown in the error when !ok
  };
  const Case cases[] = {
      {"http.threads", "1", true, ""},
      {"http.threads", "256", true, ""},
      {"http.threads", "0", false, "[1, 256]"},
      {"http.threads", "257", false, "[1, 256]"},
      {"http.threads", "-3", false, "[1, 256]"},
      {"http.max_header_bytes", "256", true, ""},
      {"http.max_header_bytes", "16MiB", true, ""},
      {"http.max_header_bytes", "255B", false, "[256, 16777216]"},
      {"http.max_header_bytes", "16777217", false, "[256, 16777216]"},
      {"http.idle_timeout", "1ms", true, ""},
      {"http.idle_timeout", "10m", true, ""},
      {"http.idle_timeout", "0", false, "[1ms, 600000ms]"},
      {"http.idle_timeout", "601s", false, "[1ms, 600000ms]"},
  };
  for (const Case& c : cases) {
    StatusOr<Config> cfg = Config::Load(schema_, {.overrides = {{c.key, c.value, "test"}}});
    ASSERT_EQ(cfg.ok(), c.ok) << c.key << "=" << c.value << ": " << cfg.status().message();
    if (!c.ok) {
      EXPECT_THAT(cfg.status().message(), HasSubstr(c.key));
      EXPECT_THAT(cfg.status().message(), HasSubstr("out of range " + std::string(c.range)));
    }
  }
}

TEST(ConfigDoubleTest, ParsesFiniteNumbersWithinBounds) {
  Schema s;
  KeySpec ratio{"tracing.sample_ratio", Type::kDouble, "0.01", "fraction sampled"};
  ratio.min_double = 0;
  ratio.max_double = 1;
  s.Add(ratio);
  struct Case {
    const char* value;
    bool ok;
    double want;
    const char* error;
  };
  const Case cases[] = {
      {"0", true, 0, ""},        {"1", true, 1, ""},
      {"0.25", true, 0.25, ""},  {"1e-3", true, 0.001, ""},
      {"1.5", false, 0, "out of range [0, 1]"},
      {"-0.1", false, 0, "out of range [0, 1]"},
      {"nan", false, 0, "invalid number"},
      {"inf", false, 0, "invalid number"},
      {"0.5x", false, 0, "invalid number"},
      {"", false, 0, "invalid number"},
      {" 0.5", false, 0, "invalid number"},
  };
  for (const Case& c : cases) {
    StatusOr<Config> cfg =
        Config::Load(s, {.overrides = {{"tracing.sample_ratio", c.value, "test"}}});
    ASSERT_EQ(cfg.ok(), c.ok) << "'" << c.value << "': " << cfg.status().message();
    if (c.ok) {
      EXPECT_DOUBLE_EQ(cfg->GetDouble("tracing.sample_ratio"), c.want);
    } else {
      EXPECT_THAT(cfg.status().message(), HasSubstr("tracing.sample_ratio"));
      EXPECT_THAT(cfg.status().message(), HasSubstr(c.error));
    }
  }
  StatusOr<Config> defaults = Config::Load(s, {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_DOUBLE_EQ(defaults->GetDouble("tracing.sample_ratio"), 0.01);
}

TEST_F(ConfigTest, StringKeysAcceptAnyText) {
  StatusOr<Config> cfg =
      Config::Load(schema_, {.overrides = {{"service.name", "a b: c", "test"}}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetString("service.name"), "a b: c");
}

TEST_F(ConfigTest, MissingFileIsAnErrorNamingTheFile) {
  std::string path = ::testing::TempDir() + "keel_config_test_does_not_exist.yaml";
  StatusOr<Config> cfg = Config::Load(schema_, {.file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr("cannot read file '" + path + "'"));
}

TEST_F(ConfigTest, DirectoryAsFileIsAnErrorNamingIt) {
  std::string dir = ::testing::TempDir() + "keel_config_test_dir";
  std::filesystem::create_directories(dir);
  StatusOr<Config> cfg = Config::Load(schema_, {.file = dir});
  std::filesystem::remove(dir);
  ASSERT_FALSE(cfg.ok()) << "a directory was read as an empty config file";
  EXPECT_THAT(cfg.status().message(), HasSubstr("cannot read file '" + dir + "'"));
}

TEST(SchemaTest, EnvNameIsKeelPlusUpperCaseWithUnderscores) {
  struct Case {
    const char* key;
    const char* want;
  };
  const Case cases[] = {
      {"http.threads", "KEEL_HTTP_THREADS"},
      {"http.max_header_bytes", "KEEL_HTTP_MAX_HEADER_BYTES"},
      {"log.level", "KEEL_LOG_LEVEL"},
      {"orders.db-url", "KEEL_ORDERS_DB_URL"},
      {"x", "KEEL_X"},
  };
  for (const Case& c : cases) EXPECT_EQ(Schema::EnvName(c.key), c.want) << c.key;
}

TEST(SchemaTest, FindReturnsDeclaredSpecOrNull) {
  Schema s = TestSchema();
  const KeySpec* spec = s.Find("http.threads");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->type, Type::kInt);
  EXPECT_EQ(spec->max, 256);
  EXPECT_EQ(s.Find("http"), nullptr);
  EXPECT_EQ(s.Find("http.thread"), nullptr);
}

TEST(EnvFromProcessTest, CollectsOnlyKeelVariables) {
  ASSERT_EQ(setenv("KEEL_CONFIG_TEST_VAR", "a=b", 1), 0);
  ASSERT_EQ(setenv("NOT_KEEL_CONFIG_TEST_VAR", "x", 1), 0);
  std::map<std::string, std::string> env = EnvFromProcess();
  unsetenv("KEEL_CONFIG_TEST_VAR");
  unsetenv("NOT_KEEL_CONFIG_TEST_VAR");
  ASSERT_EQ(env.count("KEEL_CONFIG_TEST_VAR"), 1u);
  EXPECT_EQ(env["KEEL_CONFIG_TEST_VAR"], "a=b");  // split at the first '='
  EXPECT_EQ(env.count("NOT_KEEL_CONFIG_TEST_VAR"), 0u);
  for (const auto& [name, value] : env) EXPECT_EQ(name.rfind("KEEL_", 0), 0u) << name;
}

}  // namespace
}  // namespace keel::config
