// The POST /json front end's own cost: parsing a RateLimitRequest and
// writing a RateLimitResponse, with simdjson and the direct writer
// (json_api.cc), side by side with nlohmann::json (a DOM parse and a DOM
// built and dumped, what the front end did before ADR 0012).
//
//   cmake --build --preset release -j2 --target ratelimit_json_bench
//   build/services/ratelimit/ratelimit_json_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// allocs/op counts global operator new per request: 0 for the Keel path.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "../src/json_api.h"
#include "../test/counting_new.h"

namespace keel::ratelimit {
namespace {

constexpr std::string_view kRequest =
    R"({"domain":"bench","descriptors":[{"entries":[{"key":"user","value":"u81234"}]}]})";

RateLimitOutput SampleOutput(const LimitRule* rule) {
  RateLimitOutput out;
  out.statuses.resize(1);
  out.statuses[0].current_limit = rule;
  out.statuses[0].limit_remaining = 999'999'999;
  out.statuses[0].duration_until_reset = std::chrono::milliseconds(1500);
  return out;
}

LimitRule SampleRule() {
  LimitRule rule;
  rule.spec.unit = Unit::kSecond;
  rule.spec.requests_per_unit = 1'000'000'000;
  return rule;
}

void BM_KeelParseAndWrite(benchmark::State& state) {
  JsonRequestParser parser;
  RateLimitInput input;
  const LimitRule rule = SampleRule();
  const RateLimitOutput out = SampleOutput(&rule);
  std::string body;
  std::int64_t allocs = 0;
  for (auto _ : state) {
    const std::uint64_t before = testing::AllocationCount();
    Status st = parser.Parse(kRequest, &input);
    body.clear();
    AppendResponseJson(out, &body);
    allocs += static_cast<std::int64_t>(testing::AllocationCount() - before);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_KeelParseAndWrite);

void BM_KeelParse(benchmark::State& state) {
  JsonRequestParser parser;
  RateLimitInput input;
  for (auto _ : state) {
    Status st = parser.Parse(kRequest, &input);
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_KeelParse);

void BM_KeelWrite(benchmark::State& state) {
  const LimitRule rule = SampleRule();
  const RateLimitOutput out = SampleOutput(&rule);
  std::string body;
  for (auto _ : state) {
    body.clear();
    AppendResponseJson(out, &body);
    benchmark::DoNotOptimize(body.data());
  }
}
BENCHMARK(BM_KeelWrite);

void BM_NlohmannParseAndWrite(benchmark::State& state) {
  std::int64_t allocs = 0;
  for (auto _ : state) {
    const std::uint64_t before = testing::AllocationCount();
    const auto doc = nlohmann::json::parse(kRequest, nullptr, false);
    const auto& d = doc["descriptors"][0];
    std::string_view key = d["entries"][0]["key"].get_ref<const std::string&>();
    benchmark::DoNotOptimize(key);
    nlohmann::json s = {{"code", "OK"}};
    s["currentLimit"] = {{"requestsPerUnit", 1'000'000'000}, {"unit", "SECOND"}};
    s["limitRemaining"] = 999'999'999;
    s["durationUntilReset"] = "1.500s";
    nlohmann::json statuses = nlohmann::json::array();
    statuses.push_back(std::move(s));
    const std::string body = nlohmann::json{{"overallCode", "OK"}, {"statuses", statuses}}.dump();
    allocs += static_cast<std::int64_t>(testing::AllocationCount() - before);
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_NlohmannParseAndWrite);

}  // namespace
}  // namespace keel::ratelimit

BENCHMARK_MAIN();
