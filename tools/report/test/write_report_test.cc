#include "keel/labreport/write_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace keel::labreport {
namespace {

namespace fs = std::filesystem;

class LabreportWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("labreport_write_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "run" / "load");
    std::ofstream(dir_ / "run" / "run.json")
        << R"({"schema":"keel.lab/v1","scenario":"s","started_unix_ms":0,"duration_s":2,
              "passed":true,"loads":[{"name":"l","target":"t","timeseries":"load/l.csv"}]})";
    std::ofstream(dir_ / "run" / "load" / "l.csv")
        << "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected\n1,1,1,0,1,1,1,true\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LabreportWriteTest, WritesThePage) {
  const fs::path out = dir_ / "report.html";
  Status s = WriteReport((dir_ / "run").string(), out.string());
  ASSERT_TRUE(s.ok()) << s.message();
  std::stringstream html;
  html << std::ifstream(out).rdbuf();
  EXPECT_NE(html.str().find("<title>keel lab: s</title>"), std::string::npos);
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
}

TEST_F(LabreportWriteTest, ReadErrorWritesNothing) {
  fs::remove(dir_ / "run" / "load" / "l.csv");
  const fs::path out = dir_ / "report.html";
  Status s = WriteReport((dir_ / "run").string(), out.string());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("l.csv"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(LabreportWriteTest, UnwritableOutputIsNamed) {
  const std::string out = (dir_ / "no" / "such" / "dir" / "report.html").string();
  Status s = WriteReport((dir_ / "run").string(), out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(out), std::string::npos);
}

}  // namespace
}  // namespace keel::labreport
