#include "keel/app/serve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace keel::app {
namespace {

using ::testing::HasSubstr;

// Isolates each test from KEEL_* variables: hides the ones the process was
// started with, removes the ones a test sets, and restores the originals.
class ServeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [name, value] : KeelVariables()) {
      saved_.emplace_back(name, value);
      unsetenv(name.c_str());
    }
  }

  void TearDown() override {
    for (const auto& [name, value] : KeelVariables()) unsetenv(name.c_str());
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
    for (const auto& f : files_) std::remove(f.c_str());
  }

  static void SetEnv(const char* name, const std::string& value) {
    ASSERT_EQ(setenv(name, value.c_str(), 1), 0) << name;
  }

  std::string WriteFile(const std::string& text) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string path = ::testing::TempDir() + "keel_serve_test_" + info->name() + "_" +
                       std::to_string(files_.size()) + ".yaml";
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    EXPECT_TRUE(out) << "cannot write " << path;
    files_.push_back(path);
    return path;
  }

  ServiceDef service_{.name = "test", .summary = "a service for tests"};

 private:
  static std::vector<std::pair<std::string, std::string>> KeelVariables() {
    std::vector<std::pair<std::string, std::string>> vars;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string kv(*e);
      auto eq = kv.find('=');
      if (kv.rfind("KEEL_", 0) == 0 && eq != std::string::npos) {
        vars.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      }
    }
    return vars;
  }

  std::vector<std::pair<std::string, std::string>> saved_;
  std::vector<std::string> files_;
};

TEST_F(ServeConfigTest, UsesCommonDefaultsWithoutFlagsFileOrEnv) {
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetHostPort("http.listen").host, "127.0.0.1");
  EXPECT_EQ(cfg->GetHostPort("http.listen").port, 8080);
  EXPECT_EQ(cfg->GetInt("http.threads"),
            static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(cfg->GetString("log.level"), "info");
  EXPECT_FALSE(cfg->GetBool("log.access"));
  EXPECT_EQ(cfg->Origin("http.threads"), "default");
}

TEST_F(ServeConfigTest, ConfigFileOverridesDefaults) {
  std::string path = WriteFile("http:\n  threads: 3\n  listen: 0.0.0.0:9000\n");
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.config_file = path});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 3);
  EXPECT_EQ(cfg->GetHostPort("http.listen").host, "0.0.0.0");
  EXPECT_EQ(cfg->GetHostPort("http.listen").port, 9000);
  EXPECT_EQ(cfg->Origin("http.threads"), "file " + path);
}

TEST_F(ServeConfigTest, EnvOverridesConfigFile) {
  std::string path = WriteFile("http:\n  threads: 3\n");
  SetEnv("KEEL_HTTP_THREADS", "5");
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.config_file = path});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 5);
  EXPECT_EQ(cfg->Origin("http.threads"), "env KEEL_HTTP_THREADS");
}

TEST_F(ServeConfigTest, FlagsWinOverEnvAndConfigFile) {
  std::string path = WriteFile(
      "http:\n  threads: 3\n  listen: 0.0.0.0:9000\nlog:\n  level: warn\n  access: false\n");
  SetEnv("KEEL_HTTP_THREADS", "5");
  SetEnv("KEEL_HTTP_LISTEN", "127.0.0.1:9001");
  SetEnv("KEEL_LOG_LEVEL", "error");
  SetEnv("KEEL_LOG_ACCESS", "false");
  ServeFlags flags{.config_file = path,
                   .http = "127.0.0.1:0",
                   .threads = "7",
                   .log_level = "debug",
                   .access_log = "true"};
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, flags);
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 7);
  EXPECT_EQ(cfg->Origin("http.threads"), "flag --threads");
  EXPECT_EQ(cfg->GetHostPort("http.listen").port, 0);
  EXPECT_EQ(cfg->Origin("http.listen"), "flag --http");
  EXPECT_EQ(cfg->GetString("log.level"), "debug");
  EXPECT_EQ(cfg->Origin("log.level"), "flag --log-level");
  EXPECT_TRUE(cfg->GetBool("log.access"));
  EXPECT_EQ(cfg->Origin("log.access"), "flag --access-log");
}

TEST_F(ServeConfigTest, KeelConfigEnvChoosesTheFile) {
  std::string path = WriteFile("http:\n  threads: 9\n");
  SetEnv("KEEL_CONFIG", path);
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 9);
  EXPECT_EQ(cfg->Origin("http.threads"), "file " + path);
}

TEST_F(ServeConfigTest, ConfigFlagBeatsKeelConfigEnv) {
  std::string from_flag = WriteFile("http:\n  threads: 4\n");
  SetEnv("KEEL_CONFIG", ::testing::TempDir() + "keel_serve_test_missing.yaml");
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.config_file = from_flag});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetInt("http.threads"), 4);
}

TEST_F(ServeConfigTest, MissingConfigFileFromEnvIsAnErrorNamingIt) {
  std::string missing = ::testing::TempDir() + "keel_serve_test_missing.yaml";
  SetEnv("KEEL_CONFIG", missing);
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr(missing));
}

TEST_F(ServeConfigTest, SetOverridesAnyKeyAndComesAfterNamedFlags) {
  SetEnv("KEEL_HTTP_IDLE_TIMEOUT", "5s");
  ServeFlags flags{.threads = "4",
                   .sets = {"http.idle_timeout=30s", "http.threads=6", "http.max_body_bytes=2MiB"}};
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, flags);
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetDuration("http.idle_timeout"), std::chrono::seconds(30));
  EXPECT_EQ(cfg->Origin("http.idle_timeout"), "flag --set");
  EXPECT_EQ(cfg->GetInt("http.threads"), 6);
  EXPECT_EQ(cfg->Origin("http.threads"), "flag --set");
  EXPECT_EQ(cfg->GetByteSize("http.max_body_bytes"), 2u * 1024 * 1024);
}

TEST_F(ServeConfigTest, SetSplitsAtTheFirstEquals) {
  service_.add_keys = [](config::Schema& s) {
    s.Add({"test.greeting", config::Type::kString, "hi", "what to say"});
  };
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.sets = {"test.greeting=a=b"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetString("test.greeting"), "a=b");
}

TEST_F(ServeConfigTest, RejectsBadSetFormat) {
  for (const char* bad : {"http.threads", "=4", ""}) {
    StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.sets = {bad}});
    ASSERT_FALSE(cfg.ok()) << "accepted --set '" << bad << "'";
    EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(cfg.status().message(),
              "--set: expected KEY=VALUE, got '" + std::string(bad) + "'");
  }
}

TEST_F(ServeConfigTest, UnknownSetKeyErrorNamesTheKey) {
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.sets = {"http.thread=4"}});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr("unknown key 'http.thread'"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("flag --set"));
}

TEST_F(ServeConfigTest, UnknownFileKeyErrorNamesTheKeyAndFile) {
  std::string path = WriteFile("htp:\n  threads: 4\n");
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.config_file = path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr("'htp.threads'"));
  EXPECT_THAT(cfg.status().message(), HasSubstr(path));
}

TEST_F(ServeConfigTest, InvalidFlagValueNamesKeyAndFlag) {
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.threads = "0"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr("http.threads"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("out of range"));
  EXPECT_THAT(cfg.status().message(), HasSubstr("flag --threads"));
}

TEST_F(ServeConfigTest, ServiceKeysAreLoadedFromEnvToo) {
  service_.add_keys = [](config::Schema& s) {
    s.Add({"test.greeting", config::Type::kString, "hi", "what to say"});
  };
  SetEnv("KEEL_TEST_GREETING", "hello there");
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetString("test.greeting"), "hello there");
  EXPECT_EQ(cfg->Origin("test.greeting"), "env KEEL_TEST_GREETING");
}

TEST_F(ServeConfigTest, HttpOptionsMapEveryField) {
  ServeFlags flags{.http = "[::1]:9999",
                   .threads = "3",
                   .access_log = "true",
                   .sets = {"http.max_header_bytes=8KiB", "http.max_body_bytes=2MiB",
                            "http.header_timeout=5s", "http.idle_timeout=90s",
                            "http.shutdown_timeout=2500ms", "http.max_connections=100"}};
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, flags);
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  net::HttpServerOptions o = HttpOptionsFromConfig(*cfg);
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 9999);
  EXPECT_EQ(o.threads, 3);
  EXPECT_EQ(o.limits.max_header_bytes, 8192u);
  EXPECT_EQ(o.limits.max_body_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(o.header_timeout, std::chrono::seconds(5));
  EXPECT_EQ(o.idle_timeout, std::chrono::seconds(90));
  EXPECT_EQ(o.shutdown_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.max_connections, 100u);
  EXPECT_TRUE(o.access_log);
}

TEST_F(ServeConfigTest, HttpOptionsFromDefaults) {
  StatusOr<config::Config> cfg = LoadServiceConfig(service_, {.threads = "2"});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  net::HttpServerOptions o = HttpOptionsFromConfig(*cfg);
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8080);
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(o.limits.max_body_bytes, 1024u * 1024);
  EXPECT_EQ(o.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(o.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(o.shutdown_timeout, std::chrono::seconds(10));
  EXPECT_EQ(o.max_connections, 50000u);
  EXPECT_FALSE(o.access_log);
}

TEST_F(ServeConfigTest, ServeExitsWithTwoOnInvalidConfig) {
  bool built = false;
  service_.build = [&](const config::Config&, net::Router&) {
    built = true;
    return Status::Ok();
  };
  EXPECT_EQ(Serve(service_, {.threads = "many"}), 2);
  EXPECT_FALSE(built);
}

TEST_F(ServeConfigTest, ServeExitsWithTwoOnInconsistentAdmissionLimits) {
  bool built = false;
  service_.build = [&built](const config::Config&, net::Router&) {
    built = true;
    return Status::Ok();
  };
  // Each value is valid alone; together min > initial.
  EXPECT_EQ(Serve(service_, {.sets = {"http.admission.limit=aimd", "http.admission.min_limit=50"}}),
            2);
  EXPECT_FALSE(built);
}

TEST_F(ServeConfigTest, AdmissionIsOffByDefaultAndSettable) {
  auto cfg = LoadServiceConfig(service_, {});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetString("http.admission.limit"), "off");
  cfg = LoadServiceConfig(service_, {.sets = {"http.admission.limit=gradient"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->GetString("http.admission.limit"), "gradient");
  auto bad = LoadServiceConfig(service_, {.sets = {"http.admission.limit=lots"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("http.admission.limit"), std::string::npos);
}

TEST(AddCommonKeysTest, DeclaresTheSharedHttpLogAndTracingKeys) {
  config::Schema schema;
  AddCommonKeys(schema);
  const char* keys[] = {"http.listen",        "http.threads",          "http.max_header_bytes",
                        "http.max_body_bytes", "http.header_timeout",   "http.idle_timeout",
                        "http.shutdown_timeout", "http.max_connections", "log.level",
                        "log.access",         "tracing.otlp_endpoint", "tracing.sample_ratio",
                        "tracing.slow_threshold", "tracing.service_name", "tracing.max_queue",
                        "tracing.batch_size", "tracing.batch_delay",
                        "http.admission.limit", "http.admission.fixed_limit",
                        "http.admission.initial_limit", "http.admission.min_limit",
                        "http.admission.max_limit", "http.admission.share.low",
                        "http.admission.share.normal", "http.admission.timeout"};
  for (const char* key : keys) EXPECT_NE(schema.Find(key), nullptr) << key;
  EXPECT_EQ(schema.keys().size(), std::size(keys));
  const config::KeySpec* level = schema.Find("log.level");
  ASSERT_NE(level, nullptr);
  EXPECT_EQ(level->choices, (std::vector<std::string>{"debug", "info", "warn", "error"}));
}

}  // namespace
}  // namespace keel::app
