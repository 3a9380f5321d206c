#include "keel/labreport/reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace keel::labreport {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRunJson = R"({"schema":"keel.lab/v1","scenario":"hello",
  "started_unix_ms":1764070000000,"duration_s":40.0,"passed":true,
  "loads":[{"name":"main","target":"http://127.0.0.1:1234/hello","offset_s":5.0,
            "json":"load/main.json","timeseries":"load/main.csv"}],
  "processes":[{"name":"hello","command":["keel","serve","hello"]}]})";
constexpr const char* kCsv =
    "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,le_50ms\n"
    "1.000,100,99,1,0.5,2.0,3.5,true,98\n"
    "2.000,100,100,0,0.6,2.1,3.6,true,100\n";

class LabreportReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("labreport_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "load");
    Write("run.json", kRunJson);
    Write("load/main.csv", kCsv);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }
  StatusOr<LabRun> Read() { return ReadLabRun(dir_.string()); }
  std::string ErrorOf() {
    auto r = Read();
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.status().message();
  }
  fs::path dir_;
};

TEST_F(LabreportReaderTest, ReadsMinimalRunWithoutOptionalFiles) {
  auto run = Read();
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->scenario, "hello");
  EXPECT_EQ(run->started_unix_ms, 1764070000000);
  EXPECT_TRUE(run->passed);
  ASSERT_EQ(run->loads.size(), 1u);
  EXPECT_FALSE(run->loads[0].summary.has_value());  // load/main.json not written
  EXPECT_TRUE(run->faults.empty());
  EXPECT_TRUE(run->slos.empty());
  EXPECT_TRUE(run->cpu.empty());
  EXPECT_EQ(run->processes, std::vector<std::string>{"hello"});
}

TEST_F(LabreportReaderTest, PlacesRowsAtOffsetPlusT) {
  auto run = Read();
  ASSERT_TRUE(run.ok()) << run.status().message();
  const auto& s = run->loads[0].seconds;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0].t, 6.0);
  EXPECT_DOUBLE_EQ(s[1].t, 7.0);
  EXPECT_EQ(s[0].errors, 1u);
  EXPECT_DOUBLE_EQ(s[1].p999_ms, 3.6);
}

TEST_F(LabreportReaderTest, MissingRunJsonIsNamed) {
  fs::remove(dir_ / "run.json");
  EXPECT_NE(ErrorOf().find("run.json: no such file"), std::string::npos);
}

TEST_F(LabreportReaderTest, MalformedRunJsonIsNamed) {
  Write("run.json", "{\"schema\":");
  EXPECT_NE(ErrorOf().find("run.json: not valid JSON"), std::string::npos);
}

TEST_F(LabreportReaderTest, MissingFieldIsNamed) {
  Write("run.json", R"({"schema":"keel.lab/v1","started_unix_ms":1,"duration_s":1,
                        "passed":true,"loads":[]})");
  EXPECT_NE(ErrorOf().find("run.json: missing field 'scenario'"), std::string::npos);
}

TEST_F(LabreportReaderTest, WrongSchemaIsRejected) {
  Write("run.json", R"({"schema":"keel.lab/v9"})");
  EXPECT_NE(ErrorOf().find("keel.lab/v9"), std::string::npos);
}

TEST_F(LabreportReaderTest, MissingCsvIsNamed) {
  fs::remove(dir_ / "load/main.csv");
  EXPECT_NE(ErrorOf().find("load/main.csv: no such file"), std::string::npos);
}

TEST_F(LabreportReaderTest, MalformedCsvNamesFileAndLine) {
  Write("load/main.csv", "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected\n"
                         "1.000,100,99,1,0.5,2.0,3.5,true\n"
                         "2.000,abc,99,1,0.5,2.0,3.5,true\n");
  const std::string e = ErrorOf();
  EXPECT_NE(e.find("load/main.csv:3: column 'sent' is not a number: 'abc'"), std::string::npos)
      << e;
}

TEST_F(LabreportReaderTest, CsvWithoutRequiredColumnIsRejected) {
  Write("load/main.csv", "t,sent,completed\n1,2,3\n");
  EXPECT_NE(ErrorOf().find("header lacks column 'errors'"), std::string::npos);
}

TEST_F(LabreportReaderTest, CsvRowWithWrongFieldCountIsRejected) {
  Write("load/main.csv", "t,sent,completed,errors,p50_ms,p99_ms,p999_ms\n1,2,3\n");
  EXPECT_NE(ErrorOf().find("main.csv:2: expected 7 fields, got 3"), std::string::npos);
}

TEST_F(LabreportReaderTest, ReadsOverLimitWhenTheLoadWasRls) {
  auto rows = ParseTimeseriesCsv("t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok,over_limit\n"
                                 "1.000,100,100,0,0.5,2.0,3.5,true,100,7\n",
                                 "rls.csv", 2.0);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].over_limit, 7u);
  EXPECT_DOUBLE_EQ((*rows)[0].t, 3.0);
  auto http = ParseTimeseriesCsv("t,sent,completed,errors,p50_ms,p99_ms,p999_ms\n1,2,2,0,1,1,1\n", "h.csv", 0);
  ASSERT_TRUE(http.ok());
  EXPECT_FALSE((*http)[0].over_limit.has_value());
  auto bad = ParseTimeseriesCsv("t,sent,completed,errors,p50_ms,p99_ms,p999_ms,over_limit\n1,2,2,0,1,1,1,x\n",
                                "b.csv", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("column 'over_limit' is not a number"), std::string::npos);
}

TEST_F(LabreportReaderTest, ReadsLoadSummary) {
  Write("load/main.json", R"({"schema_version":1,"mode":"open","duration_s":30,
    "requested_rate":1000,"achieved_rate":998.5,"sent":30000,"completed":29950,
    "errors":{"connect":0,"total":50},
    "latency_ms":{"corrected":{"p50":0.5,"p99":4.2,"p99_9":9.9,"max":120.0}}})");
  auto run = Read();
  ASSERT_TRUE(run.ok()) << run.status().message();
  ASSERT_TRUE(run->loads[0].summary.has_value());
  const LoadSummary& s = *run->loads[0].summary;
  EXPECT_EQ(s.requested_rate, 1000.0);
  EXPECT_EQ(s.errors, 50u);
  EXPECT_DOUBLE_EQ(s.p999_ms, 9.9);
  EXPECT_DOUBLE_EQ(s.max_ms, 120.0);
}

TEST_F(LabreportReaderTest, ReadsFaultsAndSlos) {
  Write("faults.json", R"([{"name":"latency 100ms","kind":"toxic","target":"hello",
    "start_s":10,"end_s":20,"detail":{"latency_ms":100}},
    {"name":"kill","kind":"kill","target":"hello","start_s":30,"end_s":null}])");
  Write("slos.json", R"([{"name":"availability","kind":"availability","objective":0.999,
    "threshold_ms":null,"good":12345,"total":12400,"measured":0.9956,"budget_consumed":4.4,
    "passed":false,"windows":[{"long_s":5,"short_s":0.5,"burn_threshold":14.4,
    "max_long_burn":20.1,"max_short_burn":30,"fired":true,"first_fired_s":12,
    "evaluated":true,"label":"page"},{"long_s":30,"short_s":3,"burn_threshold":6,
    "max_long_burn":0,"max_short_burn":0,"fired":false,"first_fired_s":null,
    "evaluated":false,"label":"ticket"}]}])");
  auto run = Read();
  ASSERT_TRUE(run.ok()) << run.status().message();
  ASSERT_EQ(run->faults.size(), 2u);
  EXPECT_EQ(run->faults[0].end_s, 20.0);
  EXPECT_EQ(run->faults[0].detail_json, R"({"latency_ms":100})");
  EXPECT_FALSE(run->faults[1].end_s.has_value());
  ASSERT_EQ(run->slos.size(), 1u);
  EXPECT_FALSE(run->slos[0].threshold_ms.has_value());
  ASSERT_EQ(run->slos[0].windows.size(), 2u);
  EXPECT_EQ(run->slos[0].windows[0].first_fired_s, 12.0);
  EXPECT_FALSE(run->slos[0].windows[1].evaluated);
}

TEST_F(LabreportReaderTest, MalformedOptionalFileIsNamed) {
  Write("slos.json", R"([{"name":"a"}])");
  EXPECT_NE(ErrorOf().find("slos.json: missing field '[0].kind'"), std::string::npos);
}

TEST_F(LabreportReaderTest, ReadsCpuRateFromMetrics) {
  Write("metrics/hello.prom",
        "# keel-lab scrape t=1\nprocess_cpu_seconds_total 1.0\n"
        "# keel-lab scrape t=3\n# TYPE process_cpu_seconds_total counter\n"
        "process_cpu_seconds_total 2.0\nprocess_cpu_seconds_total_extra 9\n");
  auto run = Read();
  ASSERT_TRUE(run.ok()) << run.status().message();
  ASSERT_EQ(run->cpu.size(), 1u);
  EXPECT_EQ(run->cpu[0].process, "hello");
  ASSERT_EQ(run->cpu[0].t.size(), 1u);
  EXPECT_DOUBLE_EQ(run->cpu[0].t[0], 3.0);
  EXPECT_DOUBLE_EQ(run->cpu[0].rate[0], 0.5);
}

TEST(LabreportCounterRateTest, SumsLabelSetsAndSkipsResets) {
  const std::string text =
      "# keel-lab scrape t=0\nreqs{code=\"200\"} 10\nreqs{code=\"500\"} 2\n"
      "# keel-lab scrape t=1\nreqs{code=\"200\"} 20\nreqs{code=\"500\"} 4\n"
      "# keel-lab scrape t=2\nreqs{code=\"200\"} 1\n"
      "# keel-lab scrape t=3\nreqs{code=\"200\"} 6\n";
  ProcessRate r = ParseCounterRate(text, "p", "reqs");
  ASSERT_EQ(r.t.size(), 2u);
  EXPECT_DOUBLE_EQ(r.rate[0], 12.0);
  EXPECT_DOUBLE_EQ(r.t[1], 3.0);
  EXPECT_DOUBLE_EQ(r.rate[1], 5.0);
}

}  // namespace
}  // namespace keel::labreport
