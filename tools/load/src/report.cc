#include "keel/load/report.h"

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "keel/base/format.h"
#include "keel/base/units.h"

namespace keel::load {
namespace {

using Json = nlohmann::ordered_json;  // keeps the documented field order

constexpr double kMicrosPerMilli = 1000.0;

struct PercentileRow {
  const char* label;  // human table
  const char* key;    // JSON
  double percentile;
};
constexpr PercentileRow kPercentiles[] = {
    {"p50", "p50", 50.0}, {"p75", "p75", 75.0},     {"p90", "p90", 90.0},
    {"p99", "p99", 99.0}, {"p99.9", "p99_9", 99.9}, {"p99.99", "p99_99", 99.99},
};

double Ms(int64_t micros) { return static_cast<double>(micros) / kMicrosPerMilli; }
// Mean and stdev are fractional µs; JSON keeps them to the µs like the rest.
double MsRounded(double micros) { return std::round(micros) / kMicrosPerMilli; }


// Shortest of "%.3f" without trailing zeros: 10 -> "10", 12.5 -> "12.5".
std::string Compact(double v) {
  std::string s = StrFormat("%.3f", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

Json LatencyJson(const obs::LatencyHistogram& h) {
  Json j = Json::object();
  for (const PercentileRow& row : kPercentiles) {
    j[row.key] = Ms(h.ValueAtPercentile(row.percentile));
  }
  j["max"] = Ms(h.max());
  j["mean"] = MsRounded(h.mean());
  j["stdev"] = MsRounded(h.stddev());
  return j;
}

std::string LatencyTable(const RunResult& r) {
  std::string out = StrFormat("  %-14s %12s %12s\n", "Latency (ms)", "corrected", "uncorrected");
  for (const PercentileRow& row : kPercentiles) {
    out += StrFormat("    %-12s %12.3f %12.3f\n", row.label,
                  Ms(r.corrected.ValueAtPercentile(row.percentile)),
                  Ms(r.uncorrected.ValueAtPercentile(row.percentile)));
  }
  out += StrFormat("    %-12s %12.3f %12.3f\n", "max", Ms(r.corrected.max()), Ms(r.uncorrected.max()));
  out += StrFormat("    %-12s %12.3f %12.3f\n", "mean", r.corrected.mean() / kMicrosPerMilli,
                r.uncorrected.mean() / kMicrosPerMilli);
  out += StrFormat("    %-12s %12.3f %12.3f\n", "stdev", r.corrected.stddev() / kMicrosPerMilli,
                r.uncorrected.stddev() / kMicrosPerMilli);
  out += StrFormat("    %-12s %12" PRId64 " %12" PRId64 "\n", "samples", r.corrected.total_count(),
                r.uncorrected.total_count());
  return out;
}

std::string SloLines(const RunResult& r) {
  if (r.slos.empty()) return "";
  std::string out = "  SLOs\n";
  for (const SloResult& slo : r.slos) {
    const std::string& unit = slo.unit;
    out += StrFormat("    %s  %-16s measured %.3f%s", slo.passed ? "PASS" : "FAIL", slo.bound.c_str(),
                  slo.measured, unit.c_str());
    if (slo.window_breached) {
      out += StrFormat("; breached in window [%s s, %s s): measured %.3f%s",
                    Compact(slo.window_start).c_str(), Compact(slo.window_end).c_str(),
                    slo.window_measured, unit.c_str());
    }
    out += '\n';
  }
  return out;
}

// Errors that came with an answer, counted in `completed` too (HTTP 4xx/5xx;
// in rls:// runs every error is a failed call, not an answer).
std::uint64_t StatusErrors(const RunResult& r) {
  return r.errors[static_cast<size_t>(ErrorKind::kStatus4xx)] +
         r.errors[static_cast<size_t>(ErrorKind::kStatus5xx)];
}

}  // namespace

std::string HumanSummary(const RunResult& r) {
  std::string out = "keel load " + r.url + "\n";
  out += StrFormat("  %-16s %s, %d threads, %d connections\n", "Mode",
                r.open_loop ? "open loop" : "closed loop", r.threads, r.connections);
  out += StrFormat("  %-16s %.3f s\n", "Duration", r.duration_s);
  if (r.open_loop) {
    out += StrFormat("  %-16s %.2f req/s\n", "Requested rate", r.requested_rate);
  } else {
    out += StrFormat("  %-16s %s\n", "Requested rate", "n/a (closed loop)");
  }
  out += StrFormat("  %-16s %.2f req/s", "Achieved rate", r.achieved_rate);
  if (r.open_loop && r.requested_rate > 0) {
    out += StrFormat(" (%.1f%% of requested)", 100.0 * r.achieved_rate / r.requested_rate);
  }
  out += '\n';
  out +=
      StrFormat("  %-16s %" PRIu64 " sent, %" PRIu64 " completed\n", "Requests", r.sent, r.completed);

  const std::uint64_t total_errors = r.total_errors();
  out += StrFormat("  %-16s %" PRIu64, "Errors", total_errors);
  if (r.sent > 0) {
    out += StrFormat(" (%.2f%% of sent)",
                  100.0 * static_cast<double>(total_errors) / static_cast<double>(r.sent));
  }
  const char* sep = ":";
  for (ErrorKind k : ErrorKindsOf(r.rls)) {
    out += StrFormat("%s %s %" PRIu64, sep, ErrorKindName(k), r.errors[static_cast<size_t>(k)]);
    sep = ",";
  }
  out += '\n';
  if (r.rls) {
    out += StrFormat("  %-16s %" PRIu64 " ok, %" PRIu64 " over_limit (not errors)\n", "Answers",
                  r.completed - r.over_limit - StatusErrors(r), r.over_limit);
  }
  out += StrFormat("  %-16s %" PRIu64 " requests waited for a connection, max depth %" PRIu64
                ", %" PRIu64 " not sent\n",
                "Backlog", r.backlog_requests, r.backlog_max, r.not_sent);
  // Below 90% the target (or this generator) did not keep up, and the
  // corrected column is the one that shows what users would have seen.
  if (r.open_loop && r.requested_rate > 0 && r.achieved_rate < 0.9 * r.requested_rate) {
    out +=
        "  WARNING: achieved rate is below 90% of the requested rate; "
        "the target did not keep up\n";
  }
  out += '\n';
  out += LatencyTable(r);
  const std::string slos = SloLines(r);
  if (!slos.empty()) out += "\n" + slos;
  return out;
}

std::string PercentileSpectrum(const obs::LatencyHistogram& histogram) {
  return histogram.PercentileDistribution(kMicrosPerMilli);
}

std::string ToJson(const RunResult& r) {
  Json j;
  j["schema_version"] = 1;
  j["url"] = r.url;
  j["mode"] = r.open_loop ? "open" : "closed";
  j["threads"] = r.threads;
  j["connections"] = r.connections;
  j["duration_s"] = r.duration_s;
  j["requested_rate"] = r.open_loop ? Json(r.requested_rate) : Json(nullptr);
  j["achieved_rate"] = r.achieved_rate;
  j["sent"] = r.sent;
  j["completed"] = r.completed;
  Json errors = Json::object();
  for (ErrorKind k : ErrorKindsOf(r.rls)) errors[ErrorKindName(k)] = r.errors[static_cast<size_t>(k)];
  errors["total"] = r.total_errors();
  j["errors"] = errors;
  j["backlog"] = {
      {"requests", r.backlog_requests}, {"max", r.backlog_max}, {"not_sent", r.not_sent}};
  j["latency_ms"] = {{"corrected", LatencyJson(r.corrected)},
                     {"uncorrected", LatencyJson(r.uncorrected)}};
  Json seconds = Json::array();
  for (const SecondRow& s : r.seconds) {
    Json row = {{"t", s.t},
                {"sent", s.sent},
                {"completed", s.completed},
                {"errors", s.errors},
                {"p50_ms", s.p50_us / kMicrosPerMilli},
                {"p99_ms", s.p99_us / kMicrosPerMilli},
                {"p999_ms", s.p999_us / kMicrosPerMilli},
                {"ok", s.ok}};
    if (r.rls) row["over_limit"] = s.over_limit;
    if (!r.count_within_us.empty()) {
      Json within = Json::object();
      for (std::size_t i = 0; i < r.count_within_us.size() && i < s.within.size(); ++i) {
        within[WithinColumn(r.count_within_us[i])] = s.within[i];
      }
      row["within"] = within;
    }
    seconds.push_back(std::move(row));
  }
  j["seconds"] = seconds;
  Json slos = Json::array();
  for (const SloResult& slo : r.slos) {
    // The window fields are null unless a window breached the bound.
    auto if_breached = [&slo](double v) { return slo.window_breached ? Json(v) : Json(nullptr); };
    slos.push_back({{"bound", slo.bound},
                    {"passed", slo.passed},
                    {"measured", slo.measured},
                    {"window_breached", slo.window_breached},
                    {"window_start_s", if_breached(slo.window_start)},
                    {"window_end_s", if_breached(slo.window_end)},
                    {"window_measured", if_breached(slo.window_measured)}});
  }
  j["slo"] = slos;
  j["measure_start_unix_ms"] = r.measure_start_unix_ms;
  if (r.rls) {
    j["protocol"] = "rls";
    j["ok"] = r.completed - r.over_limit - StatusErrors(r);
    j["over_limit"] = r.over_limit;
  }
  return j.dump(2);
}

void WriteTimeseries(const RunResult& r, std::ostream& out) {
  out << "t,sent,completed,errors,p50_ms,p99_ms,p999_ms,corrected,ok";
  if (r.rls) out << ",over_limit";
  for (std::int64_t us : r.count_within_us) out << "," << WithinColumn(us);
  out << "\n";
  for (const SecondRow& s : r.seconds) {
    out << StrFormat("%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f,true,%" PRIu64, s.t,
                  s.sent, s.completed, s.errors, s.p50_us / kMicrosPerMilli,
                  s.p99_us / kMicrosPerMilli, s.p999_us / kMicrosPerMilli, s.ok);
    if (r.rls) out << "," << s.over_limit;
    for (std::size_t i = 0; i < r.count_within_us.size(); ++i) {
      out << "," << (i < s.within.size() ? s.within[i] : 0);
    }
    out << "\n";
  }
}

std::string WithinColumn(std::int64_t threshold_us) {
  return "le_" + FormatDuration(std::chrono::microseconds(threshold_us));
}

}  // namespace keel::load
