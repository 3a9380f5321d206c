#include "keel/lab/scenario.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace keel::lab {
namespace {

using ::testing::HasSubstr;
using std::chrono::seconds;

constexpr const char* kHello = R"(
name: hello
processes:
  - name: hello
    command: ["{{keel}}", serve, hello, --http, "127.0.0.1:{{port:hello}}"]
    health: {http: "http://127.0.0.1:{{port:hello}}/readyz", timeout: 5s}
    metrics: "http://127.0.0.1:{{port:hello}}/metrics"
  - name: chaos
    command: ["{{keel}}", chaos, --api, "127.0.0.1:{{port:chaos}}"]
    health: {tcp: "127.0.0.1:{{port:chaos}}"}
chaos: "http://127.0.0.1:{{port:chaos}}"
proxies:
  - {name: hello, listen: "127.0.0.1:{{port:proxy}}", upstream: "127.0.0.1:{{port:hello}}"}
loads:
  - name: main
    target: "http://127.0.0.1:{{port:proxy}}/hello"
    stages: "5s@100,10s@200"
  - {name: side, target: "http://127.0.0.1:{{port:hello}}/hello", start: 2s, rate: "50", duration: 20s}
faults:
  - name: slow
    at: 5s
    duration: 3s
    toxic: {proxy: hello, type: latency, attributes: {latency: 100, jitter: 5}}
  - {at: 10s, kill: hello, restart_after: 1s}
slos:
  - {name: availability, objective: 99.5%}
  - {name: fast, objective: 0.99, latency: 50ms, loads: [main]}
alerting:
  scale_to: 10m
  windows:
    - {long: 1h, short: 5m, burn_rate: 14.4, label: page}
)";

StatusOr<Scenario> Parse(const std::string& yaml, Placeholders* ph = nullptr) {
  static Placeholders scratch;
  if (!ph) {
    scratch = Placeholders{"/bin/keel", "/tmp/out", "", {}, {}};
    ph = &scratch;
  }
  return ParseScenario(yaml, ph);
}

TEST(ScenarioTest, ParsesEveryPart) {
  Placeholders ph{"/bin/keel", "/tmp/out", "", {}, {}};
  auto s = ParseScenario(kHello, &ph);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->name, "hello");
  ASSERT_EQ(s->processes.size(), 2u);
  EXPECT_EQ(s->processes[0].command[0], "/bin/keel");
  EXPECT_EQ(s->processes[0].health.kind, HealthCheck::Kind::kHttp);
  EXPECT_EQ(s->processes[0].health.timeout, seconds(5));
  EXPECT_EQ(s->processes[1].health.kind, HealthCheck::Kind::kTcp);
  ASSERT_EQ(s->loads.size(), 2u);
  EXPECT_EQ(s->loads[0].length, seconds(15));
  EXPECT_EQ(s->loads[1].start, seconds(2));
  EXPECT_EQ(s->length(), seconds(22));
  ASSERT_EQ(s->faults.size(), 2u);
  EXPECT_EQ(s->faults[0].kind, FaultSpec::Kind::kToxic);
  EXPECT_EQ(s->faults[0].attributes_json, R"({"jitter":5,"latency":100})");
  EXPECT_EQ(s->faults[0].stream, "downstream");
  EXPECT_EQ(s->faults[1].kind, FaultSpec::Kind::kKill);
  EXPECT_EQ(s->faults[1].name, "kill hello");
  EXPECT_EQ(s->faults[1].signal, 9);
  EXPECT_DOUBLE_EQ(s->slos[0].objective, 0.995);
  EXPECT_EQ(s->slos[1].latency, std::chrono::milliseconds(50));
  EXPECT_EQ(s->alerting.windows.size(), 1u);
  EXPECT_EQ(s->alerting.scale_to, std::chrono::minutes(10));
}

TEST(ScenarioTest, SamePortNameGetsTheSamePortAndDifferentNamesDiffer) {
  Placeholders ph{"/bin/keel", "/tmp/out", "", {}, {}};
  auto s = ParseScenario(kHello, &ph);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(ph.ports.size(), 3u);
  const std::string hello = std::to_string(ph.ports["hello"]);
  EXPECT_EQ(s->processes[0].command[4], "127.0.0.1:" + hello);
  EXPECT_EQ(s->proxies[0].upstream, "127.0.0.1:" + hello);
  EXPECT_NE(ph.ports["hello"], ph.ports["proxy"]);
  EXPECT_GT(ph.ports["chaos"], 0);
}

TEST(ScenarioTest, DirPlaceholderLivesUnderOut) {
  Placeholders ph{"/bin/keel", "/tmp/out", "", {}, {}};
  auto s = ParseScenario(R"(
name: x
processes: [{name: db, command: [redis-server, --dir, "{{dir:redis}}"]}]
loads: [{name: l, target: "http://127.0.0.1:1/", duration: 1s}]
)", &ph);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->processes[0].command[2], "/tmp/out/data/redis");
  EXPECT_EQ(ph.dirs["redis"], "/tmp/out/data/redis");
}

TEST(ScenarioTest, ErrorsNameTheField) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const std::string loads = "loads: [{name: l, target: 'http://127.0.0.1:1/', duration: 10s}]\n";
  const Case cases[] = {
      {"name: x\nloads: []\n", "loads: a scenario needs at least one load"},
      {"name: x\nloads: [{name: l, target: t, duration: soon}]\n", "loads[0].duration: invalid duration 'soon'"},
      {"name: x\nloads: [{name: l, target: t}]\n", "loads[0].duration: required without stages"},
      {"name: x\nloads: [{name: l, target: t, stages: '1s@x'}]\n", "loads[0].stages:"},
      {"name: x\nlods: []\n", "scenario.lods: unknown key"},
      {"name: x\nloads: [{name: l, target: t, duration: 1s}, {name: l, target: t, duration: 1s}]\n",
       "loads: name 'l' used twice"},
      {"name: x\nslos: [{name: a, objective: 100%}]\n", "slos[0].objective:"},
      {"name: x\nslos: [{name: a, objective: 99%, loads: [nope]}]\n", "slos[0].loads: no load named 'nope'"},
      {"name: x\nslos: [{name: a, objective: 99%, exclude: [{from: 5s, to: 2s}]}]\n",
       "slos[0].exclude[0]: needs 0 <= from < to"},
      {"name: x\nslos: [{name: a, objective: 99%, exclude: [{from: 5s}]}]\n", "slos[0].exclude[0]: needs from and to"},
      {"name: x\nslos: [{name: a, objective: 99%, exclude: 5s}]\n", "slos[0].exclude: expected a list"},
      {"name: x\nfaults: [{at: 1s, kill: ghost}]\n", "faults[0].kill: no process named 'ghost'"},
      {"name: x\nfaults: [{at: 20s, kill: ghost}]\n", "faults[0].at: after the last load ends (10s)"},
      {"name: x\nfaults: [{at: 1s, toxic: {proxy: p, type: latency}}]\n", "faults[0].toxic.proxy: no proxy named 'p'"},
      {"name: x\nfaults: [{at: 1s, toxic: {proxy: p, type: lag}}]\n", "faults[0].toxic.type: unknown toxic 'lag'"},
      {"name: x\nfaults: [{at: 1s}]\n", "faults[0]: give toxic, kill or command"},
      {"name: x\nprocesses: [{name: p, command: ['{{prot:x}}']}]\n", "unknown placeholder '{{prot:x}}'"},
      {"name: x\nprocesses: [{name: p}]\n", "processes[0].command: required"},
      {"name: x\nproxies: [{name: p, listen: a, upstream: b}]\n", "chaos: required when proxies are declared"},
      {"name: x\nalerting: {windows: [{long: 1m, short: 5m, burn_rate: 2}]}\n", "alerting.windows[0]: need 0 < short <= long"},
      {"name: x\nchecks: [{name: c}]\n", "checks[0].command: required"},
      {"name: x\nchecks: [{name: c, command: [true], timeout: 0s}]\n", "checks[0].timeout: must be positive"},
      {"name: x\nchecks: [{name: c, command: [true]}, {name: c, command: [true]}]\n", "checks: name 'c' used twice"},
      {"name: x\nchecks: [{name: c, command: [true], retries: 2}]\n", "checks[0].retries: unknown key"},
      {"name: x\nfaults: [{at: 8s, jitter: 3s, command: [true]}]\n", "faults[0].jitter: at + jitter is after the last load ends"},
      {"name: x\nseed: -1\n", "seed: must be a non-negative integer"},
      {"name: x\nseed: 1.5\n", "seed: must be a non-negative integer"},
      {"name: [x\n", "YAML:"},
      {"- just a list\n", "expected a YAML map"},
  };
  for (const Case& c : cases) {
    std::string yaml = c.yaml;
    if (yaml.find("\nloads:") == std::string::npos && yaml.find("name: [") == std::string::npos && yaml[0] != '-') {
      yaml += loads;
    }
    auto s = Parse(yaml);
    ASSERT_FALSE(s.ok()) << yaml;
    EXPECT_THAT(s.status().message(), HasSubstr(c.want)) << yaml;
  }
}

TEST(ScenarioTest, CommandFaultIsAnInstantEventWithPlaceholders) {
  Placeholders ph{"/bin/keel", "/tmp/out", "/repo/lab", {}, {}};
  auto s = ParseScenario(R"(
name: x
loads: [{name: l, target: "http://127.0.0.1:1/", duration: 10s}]
faults: [{at: 5s, name: reload, command: [cp, "{{scenario_dir}}/v2.yaml", "{{dir:rl}}/rules.yaml"]}]
)", &ph);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->faults[0].kind, FaultSpec::Kind::kCommand);
  EXPECT_EQ(s->faults[0].command, (std::vector<std::string>{"cp", "/repo/lab/v2.yaml", "/tmp/out/data/rl/rules.yaml"}));
  auto bad = ParseScenario("name: x\nloads: [{name: l, target: t, duration: 10s}]\n"
                           "faults: [{at: 1s, duration: 2s, command: [true]}]\n", &ph);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("faults[0].duration: a command is an instant event"));
}

TEST(ScenarioTest, ChecksKeepTheirOrderAndDefaultTimeout) {
  Placeholders ph{"/bin/keel", "/tmp/out", "/repo/lab", {}, {}};
  auto s = ParseScenario(R"(
name: x
loads: [{name: l, target: "http://127.0.0.1:1/", duration: 10s}]
checks:
  - {name: invariants, command: ["{{keel}}", orders, check], timeout: 90s}
  - {name: rpo, command: [python3, "{{scenario_dir}}/rpo.py"]}
)", &ph);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->checks.size(), 2u);
  EXPECT_EQ(s->checks[0].name, "invariants");
  EXPECT_EQ(s->checks[0].command, (std::vector<std::string>{"/bin/keel", "orders", "check"}));
  EXPECT_EQ(s->checks[0].timeout, seconds(90));
  EXPECT_EQ(s->checks[1].command[1], "/repo/lab/rpo.py");
  EXPECT_EQ(s->checks[1].timeout, seconds(60));
}

TEST(ScenarioTest, FaultJitterAndSeed) {
  Placeholders ph{"/bin/keel", "/tmp/out", "", {}, {}};
  auto s = ParseScenario("name: x\nseed: 42\nloads: [{name: l, target: t, duration: 10s}]\n"
                         "faults: [{name: a, at: 2s, jitter: 3s, command: [true]}, {name: b, at: 1s, command: [true]}]\n", &ph);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->seed, 42u);
  EXPECT_EQ(s->faults[0].jitter, seconds(3));
  EXPECT_EQ(s->faults[1].jitter, seconds(0));
  auto unseeded = ParseScenario("name: x\nloads: [{name: l, target: t, duration: 10s}]\n", &ph);
  ASSERT_TRUE(unseeded.ok());
  EXPECT_FALSE(unseeded->seed.has_value());
}

TEST(ScenarioTest, KeelLoadTemplatesPassThrough) {
  Placeholders ph{"/bin/keel", "/tmp/out", "", {}, {}};
  auto s = ParseScenario(R"(
name: x
loads: [{name: l, target: "http://127.0.0.1:{{port:a}}/u/{{seq}}", duration: 1s,
         args: [--body, "{{zipf:1.1:100}} {{rand:1:9}} {{uuid}}"]}]
)", &ph);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->loads[0].target, "http://127.0.0.1:" + std::to_string(ph.ports["a"]) + "/u/{{seq}}");
  EXPECT_EQ(s->loads[0].args[1], "{{zipf:1.1:100}} {{rand:1:9}} {{uuid}}");
}

TEST(ScenarioTest, LoadScenarioNamesTheFile) {
  Placeholders ph{"/bin/keel", "/tmp/out", "", {}, {}};
  auto s = LoadScenario("/nonexistent/scenario.yaml", &ph);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("/nonexistent/scenario.yaml"));
}

}  // namespace
}  // namespace keel::lab
