#include "keel/lab/runner.h"

#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <nlohmann/json.hpp>
#include <thread>

#include "keel/lab/http_client.h"
#include "keel/lab/process.h"

namespace keel::lab {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr auto kTick = std::chrono::milliseconds(20);
constexpr auto kApiTimeout = std::chrono::seconds(5);

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) return Unavailable("cannot write '" + path.string() + "'");
  return Status::Ok();
}

// One health probe; OK when healthy.
Status Probe(const HealthCheck& h, Duration timeout) {
  switch (h.kind) {
    case HealthCheck::Kind::kNone:
      return Status::Ok();
    case HealthCheck::Kind::kHttp: {
      auto r = HttpCall("GET", h.http_url, "", timeout);
      if (!r.ok()) return r.status();
      if (r->status < 200 || r->status > 299) return Unavailable("HTTP " + std::to_string(r->status));
      return Status::Ok();
    }
    case HealthCheck::Kind::kTcp:
      return TcpProbe(h.tcp_address, timeout);
    case HealthCheck::Kind::kCommand: {
      auto c = Child::Start(h.command, {}, "/dev/null");
      if (!c.ok()) return c.status();
      if (!(*c)->Wait(timeout)) return Unavailable("health command timed out");
      return (*c)->exit_code() == 0 ? Status::Ok() : Unavailable("health command failed");
    }
  }
  return Status::Ok();
}

// Scrapes every metrics URL once per interval on its own thread, so a slow
// target never delays a fault.
class Scraper {
 public:
  Scraper(std::vector<std::pair<std::string, std::string>> targets, Duration interval,
          fs::path dir, Clock::time_point t0)
      : targets_(std::move(targets)), interval_(interval), dir_(std::move(dir)), t0_(t0) {
    if (!targets_.empty()) thread_ = std::thread([this] { Loop(); });
  }
  ~Scraper() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  int scrapes() const { return scrapes_; }

 private:
  void Loop() {
    auto next = Clock::now();
    while (true) {
      for (const auto& [name, url] : targets_) {
        const double t = Seconds(Clock::now() - t0_);
        auto r = HttpCall("GET", url, "", std::chrono::seconds(1));
        if (!r.ok() || r->status != 200) continue;  // the process may be down on purpose
        std::ofstream out(dir_ / (name + ".prom"), std::ios::app);
        out << "# keel-lab scrape t=" << t << "\n" << r->body;
        if (!r->body.empty() && r->body.back() != '\n') out << "\n";
        ++scrapes_;
      }
      next += std::chrono::duration_cast<Clock::duration>(interval_);
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
    }
  }

  std::vector<std::pair<std::string, std::string>> targets_;
  Duration interval_;
  fs::path dir_;
  Clock::time_point t0_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::atomic<int> scrapes_{0};
  std::thread thread_;
};

Json ChecksToJson(const std::vector<CheckOutcome>& checks) {
  Json out = Json::array();
  for (const CheckOutcome& c : checks) {
    out.push_back({{"name", c.name},
                   {"passed", c.passed},
                   {"exit_code", c.exit_code ? Json(*c.exit_code) : Json(nullptr)},
                   {"seconds", c.seconds},
                   {"note", c.note},
                   {"log", "logs/check-" + c.name + ".log"}});
  }
  return out;
}

class Run {
 public:
  Run(const Scenario& s, const RunOptions& o) : s_(s), o_(o), out_(o.out_dir) {}

  StatusOr<RunOutcome> Go();

 private:
  struct Proc {
    const ProcessSpec* spec;
    std::unique_ptr<Child> child;
    bool expected_down = false;  // killed by a fault
  };
  struct LoadRun {
    const LoadSpec* spec;
    std::unique_ptr<Child> child;
    bool started = false;
    double offset_s = 0;
  };
  struct FaultRun {
    const FaultSpec* spec;
    std::string toxic_name;
    enum class State { kPending, kActive, kRecovering, kDone } state = State::kPending;
    double at_s = 0;  // when it starts: its `at` plus its share of jitter
    double start_s = -1, end_s = -1;
    std::string note;
  };

  void Say(const std::string& line) {
    if (o_.progress) *o_.progress << "lab: " << line << std::endl;
  }
  bool Interrupted() const { return o_.interrupted && o_.interrupted->load(); }
  double Now() const { return Seconds(Clock::now() - t0_); }

  Status StartProcess(Proc& p);
  Status WaitHealthy(Proc& p);
  Status CreateProxies();
  Status StartLoad(LoadRun& l);
  void StepFault(FaultRun& f);
  void EndFault(FaultRun& f);
  void StopAll();
  CheckOutcome RunCheck(const CheckSpec& c);
  Status WriteOutputs(RunOutcome* outcome);

  const Scenario& s_;
  const RunOptions& o_;
  fs::path out_;
  std::vector<Proc> procs_;
  std::vector<LoadRun> loads_;
  std::vector<FaultRun> faults_;
  std::vector<Json> events_;  // unplanned: a process that exited on its own
  std::vector<std::unique_ptr<Child>> commands_;  // kCommand faults, stopped at the end
  Clock::time_point t0_ = Clock::now();
  std::int64_t t0_unix_ms_ = UnixMs();
  std::uint64_t seed_ = s_.seed ? *s_.seed : std::random_device{}();
};

Status Run::StartProcess(Proc& p) {
  auto child = Child::Start(p.spec->command, p.spec->env, (out_ / "logs" / (p.spec->name + ".log")).string());
  if (!child.ok()) return Unavailable("process " + p.spec->name + ": " + child.status().message());
  p.child = std::move(*child);
  return Status::Ok();
}

Status Run::WaitHealthy(Proc& p) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(p.spec->health.timeout);
  Status last = Status::Ok();
  while (true) {
    if (!p.child->Running()) {
      return Unavailable("process " + p.spec->name + " exited with code " +
                         std::to_string(p.child->exit_code().value_or(-1)) + " before it was healthy (see logs/" +
                         p.spec->name + ".log)");
    }
    last = Probe(p.spec->health, std::chrono::milliseconds(500));
    if (last.ok()) return Status::Ok();
    if (Interrupted()) return Unavailable("interrupted");
    if (Clock::now() >= deadline) {
      return Unavailable("process " + p.spec->name + " not healthy after " + FormatDuration(p.spec->health.timeout) +
                         ": " + last.message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status Run::CreateProxies() {
  for (const ProxySpec& p : s_.proxies) {
    const Json body = {{"name", p.name}, {"listen", p.listen}, {"upstream", p.upstream}, {"enabled", true}};
    auto r = HttpCall("POST", s_.chaos_api + "/proxies", body.dump(), kApiTimeout);
    if (!r.ok()) return Unavailable("chaos API: creating proxy " + p.name + ": " + r.status().message());
    if (r->status != 201) {
      return Unavailable("chaos API: creating proxy " + p.name + ": HTTP " + std::to_string(r->status) + " " + r->body);
    }
    Say("proxy " + p.name + " " + p.listen + " -> " + p.upstream);
  }
  return Status::Ok();
}

Status Run::StartLoad(LoadRun& l) {
  const LoadSpec& spec = *l.spec;
  const fs::path base = out_ / "load" / spec.name;
  std::vector<std::string> argv = {o_.keel, "load", spec.target};
  if (!spec.stages.empty()) {
    argv.insert(argv.end(), {"--stages", spec.stages});
  } else {
    if (!spec.rate.empty()) argv.insert(argv.end(), {"--rate", spec.rate});
    argv.insert(argv.end(), {"--duration", FormatDuration(spec.duration)});
  }
  argv.insert(argv.end(), {"--connections", std::to_string(spec.connections), "--threads",
                           std::to_string(spec.threads), "--json", base.string() + ".json", "--timeseries",
                           base.string() + ".csv", "--hlog", base.string() + ".hlog"});
  std::string within;
  for (const SloSpec& slo : s_.slos) {
    if (!slo.latency) continue;
    if (!slo.loads.empty() && std::find(slo.loads.begin(), slo.loads.end(), spec.name) == slo.loads.end()) continue;
    const std::string d = FormatDuration(*slo.latency);
    if (within.find(d) == std::string::npos) within += (within.empty() ? "" : ",") + d;
  }
  if (!within.empty()) argv.insert(argv.end(), {"--count-within", within});
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  auto child = Child::Start(argv, {}, (out_ / "logs" / ("load-" + spec.name + ".log")).string());
  if (!child.ok()) return Unavailable("load " + spec.name + ": " + child.status().message());
  l.child = std::move(*child);
  l.started = true;
  l.offset_s = Now();
  Say("load " + spec.name + " started -> " + spec.target);
  return Status::Ok();
}

void Run::StepFault(FaultRun& f) {
  const FaultSpec& spec = *f.spec;
  const double now = Now();
  const double at = f.at_s;
  if (f.state == FaultRun::State::kPending && now >= at) {
    f.start_s = now;
    f.state = FaultRun::State::kActive;
    if (spec.kind == FaultSpec::Kind::kToxic) {
      Json toxic = {{"name", f.toxic_name},   {"type", spec.toxic_type}, {"stream", spec.stream},
                    {"toxicity", spec.toxicity}, {"attributes", Json::parse(spec.attributes_json)}};
      auto r = HttpCall("POST", s_.chaos_api + "/proxies/" + spec.proxy + "/toxics", toxic.dump(), kApiTimeout);
      if (!r.ok() || r->status != 200) {
        f.note = "chaos API refused the toxic: " + (r.ok() ? std::to_string(r->status) + " " + r->body : r.status().message());
        Say("fault '" + spec.name + "' failed: " + f.note);
        f.end_s = now;
        f.state = FaultRun::State::kDone;
        return;
      }
      Say("fault '" + spec.name + "' on");
    } else if (spec.kind == FaultSpec::Kind::kCommand) {
      // Runs in the background; its output goes to logs/fault-N.log. An
      // instant event: it is done once started.
      auto child = Child::Start(spec.command, {}, (out_ / "logs" / ("fault-" + f.toxic_name + ".log")).string());
      if (!child.ok()) {
        f.note = child.status().message();
      } else {
        commands_.push_back(std::move(*child));
      }
      f.state = FaultRun::State::kDone;
      Say("fault '" + spec.name + "': ran " + spec.command[0] + (f.note.empty() ? "" : ": " + f.note));
    } else {
      for (Proc& p : procs_) {
        if (p.spec->name != spec.process) continue;
        p.expected_down = true;
        p.child->Signal(spec.signal);
      }
      Say("fault '" + spec.name + "': signal " + std::to_string(spec.signal) + " to " + spec.process);
    }
    return;
  }
  if (f.state == FaultRun::State::kActive) {
    if (spec.kind == FaultSpec::Kind::kToxic) {
      if (spec.duration && now >= at + std::chrono::duration<double>(*spec.duration).count()) EndFault(f);
      return;
    }
    if (!spec.restart_after) return;  // down until the end
    if (now < at + std::chrono::duration<double>(*spec.restart_after).count()) return;
    for (Proc& p : procs_) {
      if (p.spec->name != spec.process) continue;
      if (spec.signal == SIGSTOP) {
        p.child->Signal(SIGCONT);
      } else {
        p.child->Stop(SIGKILL, Duration(0));  // in case the signal did not end it
        Status st = StartProcess(p);
        if (!st.ok()) {
          f.note = st.message();
          EndFault(f);
          return;
        }
      }
      Say("fault '" + spec.name + "': " + spec.process + (spec.signal == SIGSTOP ? " continued" : " restarted"));
    }
    f.state = FaultRun::State::kRecovering;
    return;
  }
  if (f.state == FaultRun::State::kRecovering) {
    for (Proc& p : procs_) {
      if (p.spec->name != spec.process) continue;
      if (Probe(p.spec->health, std::chrono::milliseconds(200)).ok()) {
        p.expected_down = false;
        EndFault(f);
        Say("fault '" + spec.name + "': " + spec.process + " healthy again");
      }
    }
  }
}

void Run::EndFault(FaultRun& f) {
  if (f.state == FaultRun::State::kDone || f.state == FaultRun::State::kPending) return;
  if (f.spec->kind == FaultSpec::Kind::kToxic) {
    auto r = HttpCall("DELETE", s_.chaos_api + "/proxies/" + f.spec->proxy + "/toxics/" + f.toxic_name, "", kApiTimeout);
    if (!r.ok() || (r->status != 204 && r->status != 200)) {
      f.note = "removing the toxic failed: " + (r.ok() ? std::to_string(r->status) : r.status().message());
    } else {
      Say("fault '" + f.spec->name + "' off");
    }
  }
  f.end_s = Now();
  f.state = FaultRun::State::kDone;
}

CheckOutcome Run::RunCheck(const CheckSpec& c) {
  CheckOutcome o{c.name};
  const auto start = Clock::now();
  auto child = Child::Start(c.command, {}, (out_ / "logs" / ("check-" + c.name + ".log")).string());
  if (!child.ok()) {
    o.note = child.status().message();
    return o;
  }
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(c.timeout);
  while (!(*child)->Wait(std::chrono::milliseconds(100))) {
    if (Interrupted() || Clock::now() >= deadline) {
      o.note = Interrupted() ? "interrupted" : "no exit within " + FormatDuration(c.timeout);
      (*child)->Stop(SIGTERM, std::chrono::seconds(2));
      o.seconds = Seconds(Clock::now() - start);
      return o;
    }
  }
  o.seconds = Seconds(Clock::now() - start);
  o.exit_code = (*child)->exit_code();
  o.passed = o.exit_code == 0;
  if (!o.passed) o.note = "exit code " + std::to_string(o.exit_code.value_or(-1)) + " (see logs/check-" + c.name + ".log)";
  return o;
}

void Run::StopAll() {
  for (LoadRun& l : loads_) {
    if (l.child) l.child->Stop(SIGKILL, Duration(0));
  }
  for (FaultRun& f : faults_) EndFault(f);
  for (auto& c : commands_) c->Stop(SIGTERM, std::chrono::seconds(2));
  for (auto it = procs_.rbegin(); it != procs_.rend(); ++it) {
    if (!it->child) continue;
    if (it->child->Running()) it->child->Signal(SIGCONT);  // a stopped process cannot handle TERM
    it->child->Stop(it->spec->stop_signal, s_.stop_grace);
  }
}

Status Run::WriteOutputs(RunOutcome* outcome) {
  const double length = Now();
  std::vector<LoadSeries> series;
  Json loads = Json::array();
  for (LoadRun& l : loads_) {
    if (!l.started) continue;
    const fs::path base = out_ / "load" / l.spec->name;
    std::ifstream in(base.string() + ".json");
    if (in) {
      try {
        const auto j = nlohmann::json::parse(in);
        const std::int64_t start_ms = j.value("measure_start_unix_ms", std::int64_t{0});
        if (start_ms > 0) l.offset_s = static_cast<double>(start_ms - t0_unix_ms_) / 1000.0;
      } catch (const nlohmann::json::exception&) {
      }
    }
    loads.push_back({{"name", l.spec->name},
                     {"target", l.spec->target},
                     {"offset_s", l.offset_s},
                     {"exit_code", l.child && l.child->exit_code() ? Json(*l.child->exit_code()) : Json(nullptr)},
                     {"json", "load/" + l.spec->name + ".json"},
                     {"timeseries", "load/" + l.spec->name + ".csv"},
                     {"hlog", "load/" + l.spec->name + ".hlog"}});
    auto s = ReadTimeseries(base.string() + ".csv", l.spec->name, l.offset_s);
    if (s.ok()) {
      series.push_back(std::move(*s));
    } else if (outcome->completed) {
      outcome->completed = false;
      outcome->failure = "load " + l.spec->name + ": " + s.status().message();
    }
  }
  outcome->slos = EvaluateSlos(s_, series, s_.length());

  Json faults = Json::array();
  for (const FaultRun& f : faults_) {
    if (f.state == FaultRun::State::kPending) continue;
    Json detail = {{"note", f.note}};
    std::string kind = "toxic", target;
    if (f.spec->kind == FaultSpec::Kind::kCommand) {
      kind = "command";
      target = f.spec->command[0];
      detail["command"] = f.spec->command;
    } else if (f.spec->kind == FaultSpec::Kind::kToxic) {
      target = f.spec->proxy;
      detail["type"] = f.spec->toxic_type;
      detail["stream"] = f.spec->stream;
      detail["toxicity"] = f.spec->toxicity;
      detail["attributes"] = Json::parse(f.spec->attributes_json);
    } else {
      kind = f.spec->restart_after ? "restart" : (f.spec->signal == SIGKILL ? "kill" : "signal");
      target = f.spec->process;
      detail["signal"] = f.spec->signal;
    }
    faults.push_back({{"name", f.spec->name},
                      {"kind", kind},
                      {"target", target},
                      {"start_s", f.start_s},
                      {"end_s", f.end_s >= 0 && f.spec->kind != FaultSpec::Kind::kCommand ? Json(f.end_s) : Json(nullptr)},
                      {"detail", detail}});
  }
  for (const Json& e : events_) faults.push_back(e);

  Json procs = Json::array();
  for (const Proc& p : procs_) {
    procs.push_back({{"name", p.spec->name},
                     {"command", p.spec->command},
                     {"log", "logs/" + p.spec->name + ".log"},
                     {"metrics", p.spec->metrics_url.empty() ? Json(nullptr) : Json("metrics/" + p.spec->name + ".prom")}});
  }
  Json run = {{"schema", "keel.lab/v1"},
              {"scenario", s_.name},
              {"description", s_.description},
              {"started_unix_ms", t0_unix_ms_},
              {"duration_s", std::max(length, std::chrono::duration<double>(s_.length()).count())},
              {"completed", outcome->completed},
              {"interrupted", outcome->interrupted},
              {"failure", outcome->failure.empty() ? Json(nullptr) : Json(outcome->failure)},
              {"passed", outcome->passed()},
              {"seed", seed_},
              {"checks", ChecksToJson(outcome->checks)},
              {"loads", loads},
              {"processes", procs}};
  Status st = WriteText(out_ / "faults.json", faults.dump(2));
  if (st.ok()) st = WriteText(out_ / "slos.json", SlosToJson(outcome->slos));
  if (st.ok()) st = WriteText(out_ / "run.json", run.dump(2));
  return st;
}

StatusOr<RunOutcome> Run::Go() {
  std::error_code ec;
  for (const char* sub : {"logs", "load", "metrics", "data"}) {
    fs::create_directories(out_ / sub, ec);
    if (ec) return Unavailable("cannot create '" + (out_ / sub).string() + "': " + ec.message());
  }
  for (const std::string& dir : o_.data_dirs) {
    fs::create_directories(dir, ec);
    if (ec) return Unavailable("cannot create '" + dir + "': " + ec.message());
  }
  for (const ProcessSpec& p : s_.processes) procs_.push_back({&p, nullptr});
  for (const LoadSpec& l : s_.loads) loads_.push_back({&l, nullptr});
  std::mt19937_64 rng(seed_);
  for (std::size_t i = 0; i < s_.faults.size(); ++i) {
    const FaultSpec& spec = s_.faults[i];
    faults_.push_back({&spec, "keel_lab_" + std::to_string(i)});
    faults_.back().at_s = Seconds(spec.at) +
                          (spec.jitter.count() > 0 ? std::uniform_real_distribution<double>(0, Seconds(spec.jitter))(rng) : 0);
  }

  RunOutcome outcome;
  Status st = Status::Ok();
  for (Proc& p : procs_) {
    st = StartProcess(p);
    if (st.ok()) st = WaitHealthy(p);
    if (!st.ok()) break;
    Say("process " + p.spec->name + " healthy (pid " + std::to_string(p.child->pid()) + ")");
  }
  if (st.ok()) st = CreateProxies();

  t0_ = Clock::now();
  t0_unix_ms_ = UnixMs();
  std::vector<std::pair<std::string, std::string>> scrape_targets;
  for (const ProcessSpec& p : s_.processes) {
    if (!p.metrics_url.empty()) scrape_targets.emplace_back(p.name, p.metrics_url);
  }
  Scraper scraper(st.ok() ? scrape_targets : decltype(scrape_targets){}, s_.scrape_interval, out_ / "metrics", t0_);

  while (st.ok()) {
    if (Interrupted()) {
      outcome.interrupted = true;
      st = Unavailable("interrupted");
      break;
    }
    const double now = Now();
    bool running = false;
    for (LoadRun& l : loads_) {
      if (!l.started && now >= std::chrono::duration<double>(l.spec->start).count()) {
        st = StartLoad(l);
        if (!st.ok()) break;
      }
      if (!l.started || l.child->Running()) {
        running = true;
      } else if (l.child->exit_code().value_or(2) >= 2) {
        st = Unavailable("load " + l.spec->name + " failed with exit code " +
                         std::to_string(l.child->exit_code().value_or(-1)) + " (see logs/load-" + l.spec->name + ".log)");
        break;
      }
    }
    if (!st.ok() || !running) break;
    for (FaultRun& f : faults_) StepFault(f);
    for (Proc& p : procs_) {
      if (p.expected_down || !p.child || p.child->Running()) continue;
      const int code = p.child->exit_code().value_or(-1);
      Say("process " + p.spec->name + " exited on its own with code " + std::to_string(code));
      events_.push_back({{"name", p.spec->name + " exited"}, {"kind", "exit"}, {"target", p.spec->name},
                         {"start_s", now}, {"end_s", nullptr}, {"detail", {{"exit_code", code}}}});
      p.expected_down = true;
    }
    std::this_thread::sleep_for(kTick);
  }
  scraper.Stop();
  if (st.ok()) {
    outcome.completed = true;
    for (FaultRun& f : faults_) EndFault(f);  // checks judge the system as the faults left it, toxics gone
    for (const CheckSpec& c : s_.checks) {
      Say("check " + c.name + " running");
      outcome.checks.push_back(RunCheck(c));
      const CheckOutcome& o = outcome.checks.back();
      Say("check " + c.name + (o.passed ? " passed" : " failed: " + o.note));
      if (Interrupted()) break;
    }
  } else {
    outcome.failure = st.message();
    Say("stopping: " + st.message());
  }
  StopAll();
  Say("stopped every process");
  Status written = WriteOutputs(&outcome);
  if (!written.ok()) return written;
  return outcome;
}

}  // namespace

bool RunOutcome::passed() const {
  if (!completed) return false;
  for (const SloOutcome& s : slos) {
    if (!s.passed) return false;
  }
  for (const CheckOutcome& c : checks) {
    if (!c.passed) return false;
  }
  return true;
}

StatusOr<RunOutcome> RunScenario(const Scenario& scenario, const RunOptions& options) {
  Run run(scenario, options);
  return run.Go();
}

}  // namespace keel::lab
