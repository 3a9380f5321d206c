#include "keel/lab/slo_eval.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "keel/slo/error_budget.h"

namespace keel::lab {
namespace {

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

bool ParseCount(const std::string& text, std::uint64_t* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-') return false;
  *out = v;
  return true;
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string WithinColumnFor(Duration latency) {
  return "le_" + FormatDuration(std::chrono::duration_cast<std::chrono::microseconds>(latency));
}

StatusOr<LoadSeries> ReadTimeseries(const std::string& path, const std::string& name, double offset_s) {
  std::ifstream in(path);
  if (!in) return Unavailable("cannot read '" + path + "'");
  std::string line;
  if (!std::getline(in, line)) return InvalidArgument(path + ": empty (no header)");
  const std::vector<std::string> header = SplitCsv(line);
  auto column = [&](const std::string& col) -> int {
    auto it = std::find(header.begin(), header.end(), col);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  const int t_col = column("t"), ok_col = column("ok"), err_col = column("errors");
  const int over_col = column("over_limit");  // rls:// loads: OVER_LIMIT is an answer, not an error
  if (t_col < 0 || ok_col < 0 || err_col < 0) {
    return InvalidArgument(path + ": header lacks t, ok or errors (written by keel load --timeseries?)");
  }
  LoadSeries series;
  series.name = name;
  series.offset_s = offset_s;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = SplitCsv(line);
    const std::string where = path + ":" + std::to_string(line_no);
    if (cells.size() != header.size()) return InvalidArgument(where + ": expected " + std::to_string(header.size()) + " cells");
    LoadSeries::Row row;
    char* end = nullptr;
    row.t = std::strtod(cells[static_cast<std::size_t>(t_col)].c_str(), &end);
    if (*end != '\0' || !std::isfinite(row.t)) return InvalidArgument(where + ": bad t");
    if (!ParseCount(cells[static_cast<std::size_t>(ok_col)], &row.ok) ||
        !ParseCount(cells[static_cast<std::size_t>(err_col)], &row.errors)) {
      return InvalidArgument(where + ": bad ok or errors count");
    }
    if (over_col >= 0) {
      std::uint64_t over = 0;
      if (!ParseCount(cells[static_cast<std::size_t>(over_col)], &over)) return InvalidArgument(where + ": bad over_limit");
      row.ok += over;
    }
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i].rfind("le_", 0) != 0) continue;
      std::uint64_t v = 0;
      if (!ParseCount(cells[i], &v)) return InvalidArgument(where + ": bad " + header[i]);
      row.within[header[i]] = v;
    }
    series.rows.push_back(std::move(row));
  }
  return series;
}

std::vector<SloOutcome> EvaluateSlos(const Scenario& scenario, const std::vector<LoadSeries>& loads,
                                     Duration run_length) {
  const Duration step = std::chrono::seconds(1);
  const auto seconds = static_cast<std::size_t>(std::max<double>(1, std::ceil(Seconds(run_length))));
  const Alerting& a = scenario.alerting;
  const auto windows = slo::ScaleWindows(a.windows, a.period, a.scale_to.value_or(run_length), step);

  std::vector<SloOutcome> outcomes;
  for (const SloSpec& spec : scenario.slos) {
    const std::string within = spec.latency ? WithinColumnFor(*spec.latency) : "";
    std::vector<slo::EventCounts> per_second(seconds);
    for (const LoadSeries& load : loads) {
      if (!spec.loads.empty() && std::find(spec.loads.begin(), spec.loads.end(), load.name) == spec.loads.end()) {
        continue;
      }
      for (const LoadSeries::Row& row : load.rows) {
        // A row covers (t-1, t] of its load: the second that ends nearest t + offset.
        const double end = std::round(load.offset_s + row.t);
        const bool excluded = std::any_of(spec.exclude.begin(), spec.exclude.end(), [&](const SloSpec::Window& w) {
          return end > Seconds(w.from) && end <= Seconds(w.to);
        });
        if (excluded) continue;
        const auto index = static_cast<std::size_t>(std::clamp<double>(end - 1, 0, static_cast<double>(seconds - 1)));
        const std::uint64_t total = row.ok + row.errors;
        std::uint64_t good = row.ok;
        if (spec.latency) {
          auto it = row.within.find(within);
          good = it == row.within.end() ? 0 : it->second;
        }
        per_second[index].good += std::min(good, total);
        per_second[index].total += total;
      }
    }
    slo::EventSeries series(step);
    for (const auto& c : per_second) series.Append(c.good, c.total);
    SloOutcome out;
    out.spec = spec;
    const slo::EventCounts all = series.Total();
    out.good = all.good;
    out.total = all.total;
    out.measured = all.total == 0 ? 0 : static_cast<double>(all.good) / static_cast<double>(all.total);
    out.budget_consumed = slo::BudgetConsumed(all.good, all.total, spec.objective);
    out.passed = all.total > 0 && out.budget_consumed <= 1.0;
    out.windows = slo::EvaluateBurnRates(series, spec.objective, windows, a.min_events);
    outcomes.push_back(std::move(out));
  }
  return outcomes;
}

std::string SlosToJson(const std::vector<SloOutcome>& outcomes) {
  using Json = nlohmann::ordered_json;
  Json doc = Json::array();
  for (const SloOutcome& o : outcomes) {
    Json windows = Json::array();
    for (const slo::WindowVerdict& v : o.windows) {
      const std::string label = v.window.label + " (" + FormatDuration(v.window.long_window) + "/" +
                                FormatDuration(v.window.short_window) + " x" +
                                nlohmann::json(v.window.burn_rate).dump() + ")";
      windows.push_back({{"label", label},
                         {"long_s", Seconds(v.window.long_window)},
                         {"short_s", Seconds(v.window.short_window)},
                         {"burn_threshold", v.window.burn_rate},
                         {"evaluated", v.evaluated},
                         {"max_long_burn", v.max_long_burn},
                         {"max_short_burn", v.max_short_burn},
                         {"fired", v.fired},
                         {"first_fired_s", v.fired ? Json(Seconds(v.first_fired)) : Json(nullptr)},
                         {"steps_fired", v.steps_fired}});
    }
    doc.push_back({{"name", o.spec.name},
                   {"kind", o.spec.latency ? "latency" : "availability"},
                   {"objective", o.spec.objective},
                   {"threshold_ms", o.spec.latency ? Json(Seconds(*o.spec.latency) * 1000) : Json(nullptr)},
                   {"loads", o.spec.loads},
                   {"exclude", [&] {
                      Json ex = Json::array();
                      for (const auto& w : o.spec.exclude) ex.push_back({Seconds(w.from), Seconds(w.to)});
                      return ex;
                    }()},
                   {"good", o.good},
                   {"total", o.total},
                   {"measured", o.measured},
                   {"budget_consumed", o.budget_consumed},
                   {"passed", o.passed},
                   {"windows", windows}});
  }
  return doc.dump(2);
}

}  // namespace keel::lab
