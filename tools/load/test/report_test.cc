#include "keel/load/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace keel::load {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Corrected: 1000 µs x50, 2000 x25, 3000 x15, 4000 x9, 5000 x1. Below 2048 µs
// buckets are 1 µs wide, then 2 µs (3000 -> [3000, 3001]), 4 µs
// (5000 -> [5000, 5003]). So p50 = 1.000 ms, p75 = 2.000, p90 = 3.001,
// p99 = 4.001, p99.9 = p99.99 = max = 5.003; the mean of the bucket medians
// (1000, 2000, 3001, 4001, 5002) is 1860.26 µs. Uncorrected: 1000 µs x100.
RunResult HandBuiltResult() {
  RunResult r;
  r.url = "http://127.0.0.1:8080/hello";
  r.open_loop = true;
  r.threads = 2;
  r.connections = 16;
  r.duration_s = 10;
  r.requested_rate = 1000;
  r.achieved_rate = 998.5;
  r.sent = 9990;
  r.completed = 9985;
  r.errors = {1, 2, 0, 3, 4};
  r.backlog_requests = 12;
  r.backlog_max = 3;
  r.not_sent = 5;
  r.corrected.Record(1000, 50);
  r.corrected.Record(2000, 25);
  r.corrected.Record(3000, 15);
  r.corrected.Record(4000, 9);
  r.corrected.Record(5000, 1);
  r.uncorrected.Record(1000, 100);
  r.seconds.push_back({1, 1000, 998, 1, 1000, 4000, 5000, 997, {}});
  r.seconds.push_back({2, 999, 1000, 0, 1100, 2000, 2500, 1000, {}});
  r.slos.push_back({"p99<5ms", true, 4.001, false, 0, 0, 0, "ms"});
  r.slos.push_back({"p99.9<2ms", false, 5.003, true, 10, 20, 7.5, "ms"});
  return r;
}

std::string LineStartingWith(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "<no line starting with '" + prefix + "'>";
}

// The line's words separated by single spaces, so that column widths are not
// part of what the tests pin down.
std::string Words(const std::string& line) {
  std::istringstream in(line);
  std::string out;
  for (std::string word; in >> word;) out += (out.empty() ? "" : " ") + word;
  return out;
}

TEST(RunResultTest, NamesErrorKindsAndTotalsThem) {
  EXPECT_STREQ(ErrorKindName(ErrorKind::kConnect), "connect");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kTimeout), "timeout");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kRead), "read");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kStatus4xx), "status_4xx");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kStatus5xx), "status_5xx");
  EXPECT_EQ(HandBuiltResult().total_errors(), 10u);
  EXPECT_EQ(RunResult().total_errors(), 0u);
}

TEST(ReportJsonTest, HasDocumentedFieldsInOrder) {
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(ToJson(HandBuiltResult()));
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"schema_version", "url", "mode", "threads",
                                            "connections", "duration_s", "requested_rate",
                                            "achieved_rate", "sent", "completed", "errors",
                                            "backlog", "latency_ms", "seconds", "slo", "measure_start_unix_ms"}));
}

TEST(ReportJsonTest, ReportsRunValues) {
  const RunResult r = HandBuiltResult();
  const nlohmann::json j = nlohmann::json::parse(ToJson(r));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["url"], "http://127.0.0.1:8080/hello");
  EXPECT_EQ(j["mode"], "open");
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["connections"], 16);
  EXPECT_EQ(j["duration_s"], 10.0);
  EXPECT_EQ(j["requested_rate"], 1000.0);
  EXPECT_EQ(j["achieved_rate"], 998.5);
  EXPECT_EQ(j["sent"], 9990);
  EXPECT_EQ(j["completed"], 9985);
  EXPECT_EQ(j["errors"], nlohmann::json::parse(R"({"connect": 1, "timeout": 2, "read": 0,
      "status_4xx": 3, "status_5xx": 4, "total": 10})"));
  EXPECT_EQ(j["backlog"], nlohmann::json::parse(R"({"requests": 12, "max": 3, "not_sent": 5})"));
}

TEST(ReportJsonTest, ReportsCorrectedAndUncorrectedLatencyInMs) {
  const RunResult r = HandBuiltResult();
  const nlohmann::json j = nlohmann::json::parse(ToJson(r));
  const nlohmann::json& c = j["latency_ms"]["corrected"];
  EXPECT_EQ(c["p50"], 1.0);
  EXPECT_EQ(c["p75"], 2.0);
  EXPECT_EQ(c["p90"], 3.001);
  EXPECT_EQ(c["p99"], 4.001);
  EXPECT_EQ(c["p99_9"], 5.003);
  EXPECT_EQ(c["p99_99"], 5.003);
  EXPECT_EQ(c["max"], 5.003);
  EXPECT_EQ(c["mean"], 1.86);  // 1860.26 µs, kept to the µs
  EXPECT_EQ(c["stdev"], std::round(r.corrected.stddev()) / 1000.0);
  const nlohmann::json& u = j["latency_ms"]["uncorrected"];
  for (const char* key : {"p50", "p75", "p90", "p99", "p99_9", "p99_99", "max", "mean"}) {
    EXPECT_EQ(u[key], 1.0) << key;
  }
  EXPECT_EQ(u["stdev"], 0.0);
}

TEST(ReportJsonTest, ReportsSecondsAndSlos) {
  const nlohmann::json j = nlohmann::json::parse(ToJson(HandBuiltResult()));
  ASSERT_EQ(j["seconds"].size(), 2u);
  EXPECT_EQ(j["seconds"][1], nlohmann::json::parse(R"({"t": 2.0, "sent": 999, "completed": 1000,
      "errors": 0, "p50_ms": 1.1, "p99_ms": 2.0, "p999_ms": 2.5, "ok": 1000})"));
  ASSERT_EQ(j["slo"].size(), 2u);
  EXPECT_EQ(j["slo"][0], nlohmann::json::parse(R"({"bound": "p99<5ms", "passed": true,
      "measured": 4.001, "window_breached": false, "window_start_s": null,
      "window_end_s": null, "window_measured": null})"));
  EXPECT_EQ(j["slo"][1], nlohmann::json::parse(R"({"bound": "p99.9<2ms", "passed": false,
      "measured": 5.003, "window_breached": true, "window_start_s": 10.0,
      "window_end_s": 20.0, "window_measured": 7.5})"));
}

TEST(ReportJsonTest, ClosedLoopHasNullRequestedRate) {
  RunResult r = HandBuiltResult();
  r.open_loop = false;
  r.requested_rate = 0;
  const nlohmann::json j = nlohmann::json::parse(ToJson(r));
  EXPECT_EQ(j["mode"], "closed");
  EXPECT_TRUE(j["requested_rate"].is_null());
}

TEST(ReportSummaryTest, ShowsModeRatesRequestsErrorsAndBacklog) {
  const std::string s = HumanSummary(HandBuiltResult());
  EXPECT_THAT(s, HasSubstr("http://127.0.0.1:8080/hello"));
  EXPECT_THAT(LineStartingWith(s, "  Mode"), HasSubstr("open loop, 2 threads, 16 connections"));
  EXPECT_THAT(LineStartingWith(s, "  Duration"), HasSubstr("10.000 s"));
  EXPECT_THAT(LineStartingWith(s, "  Requested rate"), HasSubstr("1000.00 req/s"));
  EXPECT_THAT(LineStartingWith(s, "  Achieved rate"),
              HasSubstr("998.50 req/s (99.8% of requested)"));
  EXPECT_THAT(LineStartingWith(s, "  Requests"), HasSubstr("9990 sent, 9985 completed"));
  EXPECT_THAT(LineStartingWith(s, "  Errors"),
              HasSubstr("10 (0.10% of sent): connect 1, timeout 2, read 0, status_4xx 3, "
                        "status_5xx 4"));
  EXPECT_THAT(LineStartingWith(s, "  Backlog"),
              HasSubstr("12 requests waited for a connection, max depth 3, 5 not sent"));
  EXPECT_THAT(s, Not(HasSubstr("WARNING")));
}

TEST(ReportSummaryTest, ShowsCorrectedAndUncorrectedPercentilesSideBySide) {
  const std::string s = HumanSummary(HandBuiltResult());
  EXPECT_EQ(Words(LineStartingWith(s, "  Latency (ms)")), "Latency (ms) corrected uncorrected");
  const std::vector<std::string> rows = {
      "p50 1.000 1.000", "p75 2.000 1.000",   "p90 3.001 1.000",
      "p99 4.001 1.000", "p99.9 5.003 1.000", "p99.99 5.003 1.000",
      "max 5.003 1.000", "mean 1.860 1.000",  "samples 100 100",
  };
  for (const std::string& row : rows) {
    const std::string label = row.substr(0, row.find(' ') + 1);
    EXPECT_EQ(Words(LineStartingWith(s, "    " + label)), row);
  }
  const std::string stdev = Words(LineStartingWith(s, "    stdev "));
  EXPECT_EQ(stdev.substr(stdev.rfind(' ')), " 0.000");
}

TEST(ReportSummaryTest, ShowsSloVerdictsAndBreachingWindow) {
  const std::string s = HumanSummary(HandBuiltResult());
  EXPECT_EQ(Words(LineStartingWith(s, "    PASS")), "PASS p99<5ms measured 4.001ms");
  EXPECT_EQ(Words(LineStartingWith(s, "    FAIL")),
            "FAIL p99.9<2ms measured 5.003ms; breached in window [10 s, 20 s): measured 7.500ms");
}

TEST(ReportSummaryTest, ClosedLoopSaysRequestedRateIsNotApplicable) {
  RunResult r = HandBuiltResult();
  r.open_loop = false;
  r.requested_rate = 0;
  const std::string s = HumanSummary(r);
  EXPECT_THAT(LineStartingWith(s, "  Mode"), HasSubstr("closed loop"));
  EXPECT_THAT(LineStartingWith(s, "  Requested rate"), HasSubstr("n/a (closed loop)"));
  EXPECT_THAT(LineStartingWith(s, "  Achieved rate"), HasSubstr("998.50 req/s"));
  EXPECT_THAT(s, Not(HasSubstr("of requested")));
}

TEST(ReportSummaryTest, WarnsWhenAchievedRateFallsWellShortOfRequested) {
  RunResult r = HandBuiltResult();
  r.achieved_rate = 700;
  EXPECT_THAT(HumanSummary(r), HasSubstr("WARNING: achieved rate is below 90%"));
}

TEST(ReportSpectrumTest, IsCorrectedHistogramDistributionInMs) {
  const RunResult r = HandBuiltResult();
  const std::string spectrum = PercentileSpectrum(r.corrected);
  EXPECT_EQ(spectrum, r.corrected.PercentileDistribution(1000.0));
  EXPECT_THAT(spectrum, HasSubstr("       5.003 1.000000000000        100\n"));
}

TEST(ReportTimeseriesTest, WritesHeaderAndOneRowPerSecond) {
  std::ostringstream out;
  WriteTimeseries(HandBuiltResult(), out);
  EXPECT_EQ(out.str(),
            "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok\n"
            "1.000,1000,998,1,1.000,4.000,5.000,true,997\n"
            "2.000,999,1000,0,1.100,2.000,2.500,true,1000\n");
}

TEST(ReportTimeseriesTest, AddsAColumnPerCountWithinThreshold) {
  RunResult r = HandBuiltResult();
  r.count_within_us = {50'000, 1'500};
  r.seconds[0].within = {990, 12};
  r.seconds[1].within = {1000, 0};
  std::ostringstream out;
  WriteTimeseries(r, out);
  EXPECT_EQ(out.str(),
            "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok,le_50ms,le_1500us\n"
            "1.000,1000,998,1,1.000,4.000,5.000,true,997,990,12\n"
            "2.000,999,1000,0,1.100,2.000,2.500,true,1000,1000,0\n");
  const auto j = nlohmann::json::parse(ToJson(r));
  EXPECT_EQ(j["seconds"][0]["ok"], 997);
  EXPECT_EQ(j["seconds"][0]["within"], nlohmann::json::parse(R"({"le_50ms": 990, "le_1500us": 12})"));
}

// An rls:// run: 4 answers OK and 3 OVER_LIMIT in second 1, none in 2.
RunResult HandBuiltRlsResult() {
  RunResult r = HandBuiltResult();
  r.url = "rls://127.0.0.1:8081";
  r.rls = true;
  r.completed = 7;
  r.over_limit = 3;
  r.errors = {};
  r.errors[static_cast<size_t>(ErrorKind::kUnavailable)] = 2;
  r.seconds[0].ok = 4;
  r.seconds[0].over_limit = 3;
  r.seconds[1].ok = 0;
  return r;
}

TEST(ReportRlsTest, JsonListsGrpcErrorKindsAndAppendsOverLimit) {
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(ToJson(HandBuiltRlsResult()));
  std::vector<std::string> error_keys;
  for (const auto& [k, v] : j["errors"].items()) error_keys.push_back(k);
  EXPECT_EQ(error_keys, (std::vector<std::string>{"timeout", "unavailable", "grpc_status", "total"}));
  EXPECT_EQ(j["errors"]["unavailable"], 2);
  EXPECT_EQ(j["errors"]["total"], 2);
  EXPECT_EQ(j["seconds"][0]["over_limit"], 3);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  ASSERT_GE(keys.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(keys.end() - 3, keys.end()),
            (std::vector<std::string>{"protocol", "ok", "over_limit"}));
  EXPECT_EQ(j["protocol"], "rls");
  EXPECT_EQ(j["ok"], 4);
  EXPECT_EQ(j["over_limit"], 3);
}

TEST(ReportRlsTest, HttpJsonHasNoRlsFields) {
  const auto j = nlohmann::json::parse(ToJson(HandBuiltResult()));
  EXPECT_FALSE(j.contains("over_limit"));
  EXPECT_FALSE(j["errors"].contains("unavailable"));
  EXPECT_FALSE(j["seconds"][0].contains("over_limit"));
}

TEST(ReportRlsTest, TimeseriesAddsOverLimitAfterOk) {
  std::ostringstream out;
  WriteTimeseries(HandBuiltRlsResult(), out);
  EXPECT_EQ(out.str(),
            "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok,over_limit\n"
            "1.000,1000,998,1,1.000,4.000,5.000,true,4,3\n"
            "2.000,999,1000,0,1.100,2.000,2.500,true,0,0\n");
}

TEST(ReportRlsTest, SummaryShowsAnswersAndGrpcErrorKinds) {
  const std::string s = HumanSummary(HandBuiltRlsResult());
  EXPECT_EQ(Words(LineStartingWith(s, "  Answers")), "Answers 4 ok, 3 over_limit (not errors)");
  EXPECT_THAT(LineStartingWith(s, "  Errors"), HasSubstr("timeout 0, unavailable 2, grpc_status 0"));
  EXPECT_THAT(LineStartingWith(s, "  Errors"), Not(HasSubstr("status_4xx")));
}

TEST(ReportTimeseriesTest, WritesOnlyHeaderForRunWithoutSeconds) {
  std::ostringstream out;
  WriteTimeseries(RunResult(), out);
  EXPECT_EQ(out.str(), "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok\n");
}

}  // namespace
}  // namespace keel::load
