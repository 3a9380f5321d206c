#include "keel/labreport/renderer.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "keel/base/format.h"
#include "web_assets.h"

namespace keel::labreport {
namespace {

using Json = nlohmann::json;


// Up to `digits` decimals without trailing zeros: 99.900 -> "99.9".
std::string Compact(double v, int digits = 3) {
  std::string s = StrFormat("%.*f", digits, v);
  if (s.find('.') == std::string::npos) return s;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string Percent(double fraction, int digits = 3) { return Compact(100.0 * fraction, digits) + "%"; }
std::string Seconds(double s) { return Compact(s, 1) + " s"; }
std::string Ms(double ms) { return Compact(ms, 3) + " ms"; }

std::string Td(const std::string& escaped, const char* cls = nullptr, int rowspan = 1) {
  std::string out = "<td";
  if (cls) out += StrFormat(" class=\"%s\"", cls);
  if (rowspan > 1) out += StrFormat(" rowspan=\"%d\"", rowspan);
  return out + ">" + escaped + "</td>";
}

std::string PassCell(bool passed, int rowspan = 1) {
  return Td(passed ? "PASS" : "FAIL", passed ? "pass-cell" : "fail-cell", rowspan);
}

std::string UtcTime(std::int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// '<', '>' and '&' only occur inside JSON strings, where \u escapes mean the
// same; escaping them keeps "</script>" and "<!--" out of the inline blob.
std::string ScriptSafeJson(const Json& j) {
  const std::string raw = j.dump();
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

// Log-scale latency charts cannot show 0: a second with no completions is a gap.
Json PositiveOrNull(double v) { return v > 0 ? Json(v) : Json(nullptr); }

Json ChartData(const LabRun& run) {
  Json loads = Json::array();
  for (const Load& l : run.loads) {
    Json t = Json::array(), sent = Json::array(), completed = Json::array(),
         error_pct = Json::array(), p50 = Json::array(), p99 = Json::array(),
         p999 = Json::array(), over_limit = Json::array();
    bool has_over_limit = false;
    for (const LoadSecond& s : l.seconds) {
      over_limit.push_back(s.over_limit ? Json(*s.over_limit) : Json(nullptr));
      has_over_limit |= s.over_limit.has_value();
      t.push_back(s.t);
      sent.push_back(s.sent);
      completed.push_back(s.completed);
      error_pct.push_back(s.sent > 0 ? Json(100.0 * static_cast<double>(s.errors) /
                                            static_cast<double>(s.sent))
                                     : Json(nullptr));
      p50.push_back(PositiveOrNull(s.p50_ms));
      p99.push_back(PositiveOrNull(s.p99_ms));
      p999.push_back(PositiveOrNull(s.p999_ms));
    }
    loads.push_back({{"name", l.name}, {"t", t}, {"sent", sent}, {"completed", completed},
                     {"error_pct", error_pct}, {"p50", p50}, {"p99", p99}, {"p999", p999}});
    if (has_over_limit) loads.back()["over_limit"] = over_limit;
  }
  Json faults = Json::array();
  for (const Fault& f : run.faults) {
    faults.push_back({{"name", f.name}, {"kind", f.kind}, {"start_s", f.start_s},
                      {"end_s", f.end_s ? Json(*f.end_s) : Json(nullptr)}});
  }
  Json cpu = Json::array();
  for (const ProcessRate& r : run.cpu) {
    cpu.push_back({{"process", r.process}, {"t", r.t}, {"rate", r.rate}});
  }
  return {{"duration_s", run.duration_s}, {"loads", loads}, {"faults", faults}, {"cpu", cpu}};
}

std::string SloTable(const LabRun& run) {
  if (run.slos.empty()) return "<p class=\"muted\">No SLOs were declared (no slos.json).</p>\n";
  std::string out =
      "<table id=\"slo-table\">\n<tr><th>SLO</th><th>Objective</th><th>Measured</th>"
      "<th>Good / total</th><th>Budget consumed</th><th>Burn-rate alert</th>"
      "<th>Threshold</th><th>Max burn long / short</th><th>Fired</th><th>Result</th></tr>\n";
  for (const Slo& slo : run.slos) {
    const int rows = std::max<int>(1, static_cast<int>(slo.windows.size()));
    std::string name = HtmlEscape(slo.name) + "<br><span class=\"muted\">" +
                       HtmlEscape(slo.kind);
    if (slo.threshold_ms) name += " &le; " + HtmlEscape(Ms(*slo.threshold_ms));
    name += "</span>";
    const std::string lead =
        Td(name, nullptr, rows) + Td(Percent(slo.objective), "num", rows) +
        Td(Percent(slo.measured), "num", rows) +
        Td(StrFormat("%" PRIu64 " / %" PRIu64, slo.good, slo.total), "num", rows) +
        Td(Percent(slo.budget_consumed, 1), slo.budget_consumed > 1 ? "num fail-cell" : "num",
           rows);
    if (slo.windows.empty()) {
      out += "<tr>" + lead + Td("<span class=\"muted\">none</span>") + Td("") + Td("") + Td("") +
             PassCell(slo.passed) + "</tr>\n";
      continue;
    }
    for (size_t i = 0; i < slo.windows.size(); ++i) {
      const BurnWindow& w = slo.windows[i];
      std::string label = w.label.empty() ? "" : HtmlEscape(w.label) + "<br>";
      label += "<span class=\"muted\">" + HtmlEscape(Seconds(w.long_s)) + " / " +
               HtmlEscape(Seconds(w.short_s)) + "</span>";
      std::string burns, fired;
      if (!w.evaluated) {
        burns = "<span class=\"muted\">too few events</span>";
        fired = "<span class=\"muted\">not evaluated</span>";
      } else {
        burns = HtmlEscape(Compact(w.max_long_burn, 2) + "× / " + Compact(w.max_short_burn, 2) + "×");
        fired = w.fired ? "<span class=\"fail-cell\">FIRED</span>" : "no";
        if (w.fired && w.first_fired_s) fired += " at " + HtmlEscape(Seconds(*w.first_fired_s));
      }
      out += "<tr>" + (i == 0 ? lead : "") + Td(label) +
             Td(HtmlEscape(Compact(w.burn_threshold, 2) + "×"), "num") + Td(burns, "num") +
             Td(fired) + (i == 0 ? PassCell(slo.passed, rows) : "") + "</tr>\n";
    }
  }
  return out + "</table>\n";
}

std::string LoadTables(const LabRun& run) {
  std::string out;
  for (const Load& l : run.loads) {
    out += "<h3>" + HtmlEscape(l.name) + " <span class=\"muted\">&rarr; " + HtmlEscape(l.target) +
           ", starts at " + HtmlEscape(Seconds(l.offset_s)) + "</span></h3>\n";
    if (!l.summary) {
      out += "<p class=\"muted\">No summary (the load's JSON was not written).</p>\n";
      continue;
    }
    const LoadSummary& s = *l.summary;
    std::string requested = s.requested_rate ? Compact(*s.requested_rate, 1) + "/s" : "closed loop";
    std::string achieved = Compact(s.achieved_rate, 1) + "/s";
    if (s.requested_rate && *s.requested_rate > 0) {
      achieved += " (" + Percent(s.achieved_rate / *s.requested_rate, 1) + ")";
    }
    std::string errors = StrFormat("%" PRIu64, s.errors);
    if (s.sent > 0) {
      errors += " (" + Percent(static_cast<double>(s.errors) / static_cast<double>(s.sent), 2) + ")";
    }
    out +=
        "<table class=\"load-table\">\n<tr><th>Requested rate</th><th>Achieved rate</th>"
        "<th>Sent</th><th>Completed</th><th>Errors</th><th>p50</th><th>p99</th><th>p99.9</th>"
        "<th>max</th><th>Duration</th></tr>\n<tr>" +
        Td(HtmlEscape(requested), "num") + Td(HtmlEscape(achieved), "num") +
        Td(StrFormat("%" PRIu64, s.sent), "num") + Td(StrFormat("%" PRIu64, s.completed), "num") +
        Td(HtmlEscape(errors), s.errors > 0 ? "num fail-cell" : "num") +
        Td(HtmlEscape(Ms(s.p50_ms)), "num") + Td(HtmlEscape(Ms(s.p99_ms)), "num") +
        Td(HtmlEscape(Ms(s.p999_ms)), "num") + Td(HtmlEscape(Ms(s.max_ms)), "num") +
        Td(HtmlEscape(Seconds(s.duration_s)), "num") + "</tr>\n</table>\n";
  }
  return out;
}

std::string FaultTable(const LabRun& run) {
  if (run.faults.empty()) return "<p class=\"muted\">No faults were injected.</p>\n";
  std::string out =
      "<table id=\"fault-table\">\n<tr><th>Fault</th><th>Kind</th><th>Target</th><th>Start</th>"
      "<th>End</th><th>Detail</th></tr>\n";
  for (const Fault& f : run.faults) {
    static constexpr const char* kKnown[] = {"toxic", "kill", "restart", "signal"};
    const char* swatch = "other";
    for (const char* k : kKnown) {
      if (f.kind == k) swatch = k;
    }
    out += "<tr>" +
           Td(StrFormat("<span class=\"swatch %s\"></span>", swatch) + HtmlEscape(f.name)) +
           Td(HtmlEscape(f.kind)) + Td(HtmlEscape(f.target)) +
           Td(HtmlEscape(Seconds(f.start_s)), "num") +
           Td(f.end_s ? HtmlEscape(Seconds(*f.end_s)) : "<span class=\"muted\">instant</span>",
              "num") +
           Td("<code>" + HtmlEscape(f.detail_json) + "</code>") + "</tr>\n";
  }
  return out + "</table>\n";
}

std::string CheckTable(const LabRun& run) {
  std::string out =
      "<table id=\"check-table\">\n<tr><th>Check</th><th>Took</th><th>Note</th><th>Verdict</th></tr>\n";
  for (const Check& c : run.checks) {
    out += "<tr>" + Td(HtmlEscape(c.name)) + Td(HtmlEscape(Seconds(c.seconds)), "num") +
           Td(HtmlEscape(c.note)) + PassCell(c.passed) + "</tr>\n";
  }
  return out + "</table>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RenderHtml(const LabRun& run) {
  const std::string scenario = HtmlEscape(run.scenario);
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>keel lab: " + scenario + "</title>\n<style>\n";
  out += web::UplotCss();
  out += "\n";
  out += web::ReportCss();
  out += "</style>\n</head>\n<body>\n";
  out += "<h1>keel lab: " + scenario + "</h1>\n";
  out += run.passed ? "<div class=\"banner pass\" id=\"verdict\">PASSED</div>\n"
                    : "<div class=\"banner fail\" id=\"verdict\">FAILED</div>\n";
  out += "<p class=\"meta\">Started " + HtmlEscape(UtcTime(run.started_unix_ms)) + ", ran " +
         HtmlEscape(Seconds(run.duration_s)) + "; read from <code>" + HtmlEscape(run.dir) +
         "</code>. Shaded bands are fault windows; dashed lines are instant faults.</p>\n";
  out += "<h2>Charts</h2>\n";
  for (const char* id : {"chart-throughput", "chart-errors", "chart-latency"}) {
    out += StrFormat("<div class=\"chart\" id=\"%s\"></div>\n", id);
  }
  if (!run.cpu.empty()) out += "<div class=\"chart\" id=\"chart-cpu\"></div>\n";
  out += "<h2>SLOs</h2>\n" + SloTable(run);
  if (!run.checks.empty()) out += "<h2>Checks</h2>\n" + CheckTable(run);
  out += "<h2>Loads</h2>\n" + LoadTables(run);
  out += "<h2>Faults</h2>\n" + FaultTable(run);
  out += "<footer>Written by keel report. Charts drawn by uPlot 1.6.32 (MIT licence), "
         "inlined: this page loads nothing from the network.</footer>\n";
  out += "<script type=\"application/json\" id=\"keel-data\">" + ScriptSafeJson(ChartData(run)) +
         "</script>\n<script>\n";
  out += web::UplotJs();
  out += "\n</script>\n<script>\n";
  out += web::ReportJs();
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace keel::labreport
