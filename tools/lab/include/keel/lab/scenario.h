// A `keel lab` scenario: what to start, what load to drive through it, which
// faults to inject when, and which SLOs must hold. Read from YAML; the format
// is documented in docs/lab.md. A short example:
//
//   name: hello
//   processes:
//     - name: hello
//       command: ["{{keel}}", serve, hello, --http, "127.0.0.1:{{port:hello}}"]
//       health: {http: "http://127.0.0.1:{{port:hello}}/readyz"}
//   loads:
//     - {name: main, target: "http://127.0.0.1:{{port:hello}}/hello", stages: "20s@500"}
//   faults:
//     - {name: restart, at: 8s, kill: hello, restart_after: 1s}
//   slos:
//     - {name: availability, objective: 99%}
//
// Placeholders in strings: {{keel}} (this binary), {{out}} (the output dir),
// {{scenario_dir}} (the directory of the scenario file),
// {{port:NAME}} (a free loopback port, the same for every use of NAME) and
// {{dir:NAME}} (OUT/data/NAME, created before anything starts). keel load's
// request templates ({{seq}}, {{uuid}}, {{rand:..}}, {{zipf:..}}) pass
// through to the load.
//
//   Placeholders ph{.keel = "/usr/bin/keel", .out = "/tmp/run"};
//   StatusOr<Scenario> s = LoadScenario("lab/hello.yaml", &ph);
//
// Errors name the field, e.g. "faults[1].at: invalid duration 'soon'".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/slo/burn_rate_alert.h"

namespace keel::lab {

struct HealthCheck {
  enum class Kind { kNone, kHttp, kTcp, kCommand };
  Kind kind = Kind::kNone;
  std::string http_url;               // kHttp: any 2xx is healthy
  std::string tcp_address;            // kTcp: HOST:PORT accepts a connection
  std::vector<std::string> command;   // kCommand: exits 0
  Duration timeout = std::chrono::seconds(20);
};

struct ProcessSpec {
  std::string name;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;  // added to the lab's environment
  HealthCheck health;
  std::string metrics_url;  // scraped every Scenario::scrape_interval when set
  int stop_signal = 15;     // SIGTERM; SIGKILL after Scenario::stop_grace
};

struct ProxySpec {  // created through the chaos API before the loads start
  std::string name, listen, upstream;
};

struct LoadSpec {
  std::string name;
  std::string target;          // URL given to `keel load`
  Duration start{};            // offset from the scenario start
  std::string stages;          // keel load --stages, or
  std::string rate;            // --rate with
  Duration duration{};         // --duration
  int connections = 16;
  int threads = 1;
  std::vector<std::string> args;  // extra keel load flags
  Duration length{};           // how long it sends (from the profile)
};

struct FaultSpec {
  enum class Kind { kToxic, kKill, kCommand };
  std::string name;
  Kind kind = Kind::kToxic;
  Duration at{};
  Duration jitter{};                 // the fault starts at a uniform random moment in [at, at + jitter)
  std::optional<Duration> duration;  // kToxic: removed after; unset = until the end
  // kToxic: the toxic as Toxiproxy JSON attributes.
  std::string proxy, toxic_type, stream = "downstream";
  double toxicity = 1.0;
  std::string attributes_json = "{}";
  // kKill
  std::string process;
  int signal = 9;
  std::optional<Duration> restart_after;
  // kCommand: run once at `at` (e.g. swap a config file); an instant event.
  std::vector<std::string> command;
};

// A command run after the loads end, while every process still runs (e.g. an
// invariant checker reading the databases the run wrote); a non-zero exit,
// or no exit within `timeout`, fails the run.
struct CheckSpec {
  std::string name;
  std::vector<std::string> command;
  Duration timeout = std::chrono::seconds(60);
};

struct SloSpec {
  std::string name;
  double objective = 0.99;
  std::optional<Duration> latency;  // set: good = answered OK within it
  std::vector<std::string> loads;   // empty: every load
  // Windows of the run (from its start) left out of this SLO, e.g. its fault
  // windows for an objective that holds "outside faults". A second counts
  // by when it ends: (from, to] is left out.
  struct Window {
    Duration from{}, to{};
  };
  std::vector<Window> exclude;
};

struct Alerting {
  Duration period = slo::kWorkbookPeriod;  // what the windows are calibrated for
  std::optional<Duration> scale_to;        // unset: the run's length
  std::uint64_t min_events = 50;
  std::vector<slo::BurnWindow> windows = slo::WorkbookWindows();
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<ProcessSpec> processes;  // started in order
  std::string chaos_api;               // base URL of the `keel chaos` API, if any
  std::vector<ProxySpec> proxies;
  std::vector<LoadSpec> loads;
  std::vector<FaultSpec> faults;
  std::vector<SloSpec> slos;
  std::vector<CheckSpec> checks;  // run in order after the loads
  Alerting alerting;
  Duration scrape_interval = std::chrono::seconds(1);
  Duration stop_grace = std::chrono::seconds(10);
  std::optional<std::uint64_t> seed;  // of the faults' jitter; unset: a fresh one per run (recorded)

  // When the last load stops sending, from the scenario start.
  Duration length() const;
};

// Values substituted for placeholders. Ports and data dirs are assigned on
// first use and recorded here.
struct Placeholders {
  std::string keel;
  std::string out;
  std::string scenario_dir;  // set by LoadScenario
  std::map<std::string, int> ports;
  std::map<std::string, std::string> dirs;
};

// Parses and validates (names unique, references resolve, every fault inside
// the loads' time, objectives in (0, 1)). Errors: InvalidArgument naming the
// field.
StatusOr<Scenario> ParseScenario(const std::string& yaml, Placeholders* placeholders);
StatusOr<Scenario> LoadScenario(const std::string& path, Placeholders* placeholders);

}  // namespace keel::lab
