// `keel orders check`: read, judge, print; with --settle, re-read once a
// second until every invariant holds or the time is up (a run that just
// ended still has sagas in flight), and judge the last reading.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "keel/ordercheck/check.h"

namespace keel::ordercheck {
namespace {

constexpr int kViolated = 1;
constexpr int kUsage = 2;
constexpr int kUnreadable = 3;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "keel: error: %s\n", message.c_str());
  return code;
}

void PrintText(const Report& r, double waited_s) {
  std::string statuses;
  for (const auto& [status, n] : r.orders_by_status) {
    statuses += (statuses.empty() ? "" : ", ") + std::to_string(n) + " " + status;
  }
  std::uint64_t orders = 0;
  for (const auto& [status, n] : r.orders_by_status) orders += n;
  std::printf("orders check: %llu orders (%s), %llu SKUs, %llu messages; captured %lld = confirmed %lld cents; %s",
              static_cast<unsigned long long>(orders), statuses.empty() ? "none" : statuses.c_str(),
              static_cast<unsigned long long>(r.skus), static_cast<unsigned long long>(r.messages),
              static_cast<long long>(r.captured_cents), static_cast<long long>(r.confirmed_cents),
              r.ok() ? "every invariant holds" : "VIOLATED");
  if (waited_s > 0) std::printf(" (after %.1f s of settling)", waited_s);
  std::printf("\n");
  if (!r.cancelled_by_reason.empty()) {
    std::string reasons;
    for (const auto& [reason, n] : r.cancelled_by_reason) {
      reasons += (reasons.empty() ? "" : ", ") + std::to_string(n) + " " + (reason.empty() ? "(none)" : reason);
    }
    std::printf("  cancelled: %s\n", reasons.c_str());
  }
  for (const Invariant& i : r.invariants) {
    std::printf("  %s  %-13s %s", i.violations == 0 ? "OK  " : "FAIL", i.name.c_str(), i.meaning.c_str());
    if (i.violations > 0) std::printf(": %llu violation(s)", static_cast<unsigned long long>(i.violations));
    std::printf("\n");
    for (const std::string& e : i.examples) std::printf("          %s\n", e.c_str());
  }
}

void PrintJson(const Report& r, double waited_s) {
  nlohmann::ordered_json j = {{"ok", r.ok()},
                              {"violations", r.violations()},
                              {"settled_after_s", waited_s},
                              {"orders_by_status", r.orders_by_status},
                              {"cancelled_by_reason", r.cancelled_by_reason},
                              {"captured_cents", r.captured_cents},
                              {"confirmed_cents", r.confirmed_cents},
                              {"skus", r.skus},
                              {"messages", r.messages}};
  auto& list = j["invariants"] = nlohmann::ordered_json::array();
  for (const Invariant& i : r.invariants) {
    list.push_back({{"name", i.name}, {"meaning", i.meaning}, {"violations", i.violations}, {"examples", i.examples}});
  }
  std::printf("%s\n", j.dump(2).c_str());
}

}  // namespace

int RunCheckCommand(const CheckFlags& flags) {
  std::string base = flags.postgres_url;
  if (base.empty()) {
    const char* env = std::getenv("KEEL_POSTGRES_URL");
    base = env != nullptr && *env != '\0' ? env : "postgresql://127.0.0.1:5432/postgres";
  }
  ReadOptions read{flags.orders_url.empty() ? base : flags.orders_url,
                   flags.inventory_url.empty() ? base : flags.inventory_url,
                   flags.payments_url.empty() ? base : flags.payments_url};
  Options options;
  options.max_examples = flags.examples;
  struct {
    const char* flag;
    const std::string& text;
    Duration* into;
  } durations[] = {{"--step-timeout", flags.step_timeout, &options.step_timeout},
                   {"--grace", flags.grace, &options.grace}};
  for (auto& d : durations) {
    auto v = ParseDuration(d.text);
    if (!v.ok() || v->count() < 0) return Fail(kUsage, std::string(d.flag) + ": invalid duration '" + d.text + "'");
    *d.into = *v;
  }
  auto settle = ParseDuration(flags.settle);
  if (!settle.ok() || settle->count() < 0) return Fail(kUsage, "--settle: invalid duration '" + flags.settle + "'");

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + *settle;
  while (true) {
    auto snap = ReadSnapshot(read);
    const bool last = std::chrono::steady_clock::now() >= deadline;
    if (!snap.ok()) {
      // A database still coming back from a fault is waited for, too.
      if (last) return Fail(kUnreadable, snap.status().message());
    } else {
      Report report = Evaluate(*snap, options);
      if (report.ok() || last) {
        const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        flags.json ? PrintJson(report, waited) : PrintText(report, waited);
        return report.ok() ? 0 : kViolated;
      }
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace keel::ordercheck
