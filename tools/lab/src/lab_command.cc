#include "keel/lab/lab_command.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "keel/lab/runner.h"
#include "keel/lab/scenario.h"
#include "keel/labreport/write_report.h"

namespace keel::lab {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_interrupted{false};

extern "C" void OnInterrupt(int) { g_interrupted.store(true); }

int UsageError(const std::string& message) {
  std::fprintf(stderr, "keel: error: %s\n", message.c_str());
  return 2;
}

std::string SelfPath() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "keel" : p.string();
}

// An output directory is reused only when it is empty or holds a previous
// lab run: never wipe a directory the lab did not write.
Status PrepareOut(const fs::path& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return Status::Ok();
  if (!fs::is_directory(out, ec)) return InvalidArgument("--out '" + out.string() + "' is not a directory");
  if (fs::is_empty(out, ec)) return Status::Ok();
  if (!fs::exists(out / "run.json", ec)) {
    return InvalidArgument("--out '" + out.string() + "' is not empty and holds no previous lab run (run.json)");
  }
  for (const char* name : {"logs", "load", "metrics", "data", "run.json", "faults.json", "slos.json", "report.html"}) {
    fs::remove_all(out / name, ec);
    if (ec) return Unavailable("cannot clear '" + (out / name).string() + "': " + ec.message());
  }
  return Status::Ok();
}

void PrintSummary(const Scenario& s, const RunOutcome& r, const fs::path& out) {
  std::printf("\nScenario %s: %s\n", s.name.c_str(),
              r.interrupted ? "INTERRUPTED" : !r.completed ? "DID NOT COMPLETE" : r.passed() ? "PASS" : "FAIL");
  if (!r.failure.empty()) std::printf("  %s\n", r.failure.c_str());
  for (const SloOutcome& o : r.slos) {
    std::printf("  %s  %-20s objective %.3f%%  measured %.3f%%  budget used %.1f%%  (%llu/%llu good)\n",
                o.passed ? "PASS" : "FAIL", o.spec.name.c_str(), o.spec.objective * 100, o.measured * 100,
                o.budget_consumed * 100, static_cast<unsigned long long>(o.good),
                static_cast<unsigned long long>(o.total));
    if (!o.spec.exclude.empty()) {
      std::string ex;
      for (const auto& w : o.spec.exclude) {
        ex += (ex.empty() ? "" : ", ") + FormatDuration(w.from) + "-" + FormatDuration(w.to);
      }
      std::printf("        excluding %s of the run\n", ex.c_str());
    }
    for (const auto& w : o.windows) {
      std::printf("        %-7s %5s/%-5s x%-5g long %.2f short %.2f  %s\n", w.window.label.c_str(),
                  FormatDuration(w.window.long_window).c_str(), FormatDuration(w.window.short_window).c_str(),
                  w.window.burn_rate, w.max_long_burn, w.max_short_burn,
                  !w.evaluated ? "too few events" : w.fired ? "FIRED" : "quiet");
    }
  }
  for (const CheckOutcome& c : r.checks) {
    std::printf("  %s  check %-14s %.1f s%s%s\n", c.passed ? "PASS" : "FAIL", c.name.c_str(), c.seconds,
                c.note.empty() ? "" : "  ", c.note.c_str());
  }
  std::printf("  data: %s\n", out.string().c_str());
}

}  // namespace

int RunLabCommand(const LabFlags& flags) {
  Placeholders ph;
  ph.keel = SelfPath();
  // The scenario's name picks the default directory, and placeholders need
  // the directory: read it once for the name, then for real.
  fs::path out = flags.out_dir;
  if (out.empty()) {
    Placeholders probe = ph;
    probe.out = "/nonexistent";
    auto named = LoadScenario(flags.scenario, &probe);
    if (!named.ok()) return UsageError(named.status().message());
    out = fs::path("out") / named->name;
  }
  std::error_code ec;
  out = fs::absolute(out, ec);
  ph.out = out.string();
  auto scenario = LoadScenario(flags.scenario, &ph);
  if (!scenario.ok()) return UsageError(scenario.status().message());
  if (Status st = PrepareOut(out); !st.ok()) return UsageError(st.message());

  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  RunOptions opts{out.string(), ph.keel, &g_interrupted, &std::cerr, {}};
  for (const auto& [name, dir] : ph.dirs) opts.data_dirs.push_back(dir);
  auto outcome = RunScenario(*scenario, opts);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!outcome.ok()) {
    std::fprintf(stderr, "keel: error: %s\n", outcome.status().message().c_str());
    return 1;
  }
  PrintSummary(*scenario, *outcome, out);
  if (flags.report) {
    const fs::path html = out / "report.html";
    Status written = labreport::WriteReport(out.string(), html.string());
    if (!written.ok()) {
      std::fprintf(stderr, "keel: error: report: %s\n", written.message().c_str());
      return 1;
    }
    std::printf("  report: %s\n", html.string().c_str());
  }
  return outcome->passed() ? 0 : 1;
}

}  // namespace keel::lab
