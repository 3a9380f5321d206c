#include "keel/labreport/reader.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <system_error>

namespace keel::labreport {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr std::string_view kSchema = "keel.lab/v1";
constexpr int kLoadJsonSchemaVersion = 1;
constexpr std::string_view kScrapeMarker = "# keel-lab scrape t=";
constexpr const char* kRequiredColumns[] = {"t",      "sent",   "completed", "errors",
                                            "p50_ms", "p99_ms", "p999_ms"};

// Thrown by the field getters below and caught in this file, where it becomes
// a Status naming the file: exceptions never leave the module.
struct FieldError {
  std::string message;
};

const Json& Field(const Json& obj, const std::string& key, const std::string& where) {
  if (!obj.is_object()) throw FieldError{"'" + where + "' is not an object"};
  auto it = obj.find(key);
  if (it == obj.end()) throw FieldError{"missing field '" + where + key + "'"};
  return *it;
}

std::string Str(const Json& obj, const std::string& key, const std::string& where = "") {
  const Json& v = Field(obj, key, where);
  if (!v.is_string()) throw FieldError{"field '" + where + key + "' is not a string"};
  return v.get<std::string>();
}

std::string OptStr(const Json& obj, const std::string& key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

double Num(const Json& obj, const std::string& key, const std::string& where = "") {
  const Json& v = Field(obj, key, where);
  if (!v.is_number()) throw FieldError{"field '" + where + key + "' is not a number"};
  return v.get<double>();
}

std::optional<double> OptNum(const Json& obj, const std::string& key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw FieldError{"field '" + where + key + "' is not a number or null"};
  return it->get<double>();
}

std::uint64_t Count(const Json& obj, const std::string& key, const std::string& where = "") {
  const Json& v = Field(obj, key, where);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
    throw FieldError{"field '" + where + key + "' is not a non-negative integer"};
  }
  return v.get<std::uint64_t>();
}

bool Bool(const Json& obj, const std::string& key, const std::string& where = "") {
  const Json& v = Field(obj, key, where);
  if (!v.is_boolean()) throw FieldError{"field '" + where + key + "' is not true or false"};
  return v.get<bool>();
}

const Json& Array(const Json& obj, const std::string& key, const std::string& where = "") {
  const Json& v = Field(obj, key, where);
  if (!v.is_array()) throw FieldError{"field '" + where + key + "' is not an array"};
  return v;
}

std::string Indexed(const std::string& name, size_t i) {
  return name + "[" + std::to_string(i) + "].";
}

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound(path.string() + ": no such file");
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  if (!in.good() && !in.eof()) return InvalidArgument(path.string() + ": cannot read");
  return buf.str();
}

StatusOr<Json> ReadJson(const fs::path& path) {
  StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(path.string() + ": not valid JSON");
  return j;
}

LoadSummary SummaryFromJson(const Json& j) {
  const Json& version = Field(j, "schema_version", "");
  if (!version.is_number_integer() || version.get<int>() != kLoadJsonSchemaVersion) {
    throw FieldError{"unsupported schema_version (want 1)"};
  }
  LoadSummary s;
  s.mode = Str(j, "mode");
  s.requested_rate = OptNum(j, "requested_rate", "");
  s.achieved_rate = Num(j, "achieved_rate");
  s.duration_s = Num(j, "duration_s");
  s.sent = Count(j, "sent");
  s.completed = Count(j, "completed");
  s.errors = Count(Field(j, "errors", ""), "total", "errors.");
  const Json& corrected = Field(Field(j, "latency_ms", ""), "corrected", "latency_ms.");
  const std::string where = "latency_ms.corrected.";
  s.p50_ms = Num(corrected, "p50", where);
  s.p99_ms = Num(corrected, "p99", where);
  s.p999_ms = Num(corrected, "p99_9", where);
  s.max_ms = Num(corrected, "max", where);
  return s;
}

std::vector<Fault> FaultsFromJson(const Json& j) {
  if (!j.is_array()) throw FieldError{"want an array of faults"};
  std::vector<Fault> faults;
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& f = j[i];
    const std::string where = Indexed("", i);
    Fault fault;
    fault.name = Str(f, "name", where);
    fault.kind = Str(f, "kind", where);
    fault.target = OptStr(f, "target");
    fault.start_s = Num(f, "start_s", where);
    fault.end_s = OptNum(f, "end_s", where);
    auto detail = f.find("detail");
    if (detail != f.end() && !detail->is_null()) fault.detail_json = detail->dump();
    faults.push_back(std::move(fault));
  }
  return faults;
}

std::vector<Slo> SlosFromJson(const Json& j) {
  if (!j.is_array()) throw FieldError{"want an array of SLOs"};
  std::vector<Slo> slos;
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& o = j[i];
    const std::string where = Indexed("", i);
    Slo slo;
    slo.name = Str(o, "name", where);
    slo.kind = Str(o, "kind", where);
    slo.objective = Num(o, "objective", where);
    slo.threshold_ms = OptNum(o, "threshold_ms", where);
    slo.good = Count(o, "good", where);
    slo.total = Count(o, "total", where);
    slo.measured = Num(o, "measured", where);
    slo.budget_consumed = Num(o, "budget_consumed", where);
    slo.passed = Bool(o, "passed", where);
    auto windows = o.find("windows");
    if (windows != o.end() && !windows->is_null()) {
      const Json& ws = Array(o, "windows", where);
      for (size_t k = 0; k < ws.size(); ++k) {
        const Json& w = ws[k];
        const std::string wwhere = where + Indexed("windows", k);
        BurnWindow b;
        b.label = OptStr(w, "label");
        b.long_s = Num(w, "long_s", wwhere);
        b.short_s = Num(w, "short_s", wwhere);
        b.burn_threshold = Num(w, "burn_threshold", wwhere);
        b.max_long_burn = OptNum(w, "max_long_burn", wwhere).value_or(0);
        b.max_short_burn = OptNum(w, "max_short_burn", wwhere).value_or(0);
        b.fired = Bool(w, "fired", wwhere);
        b.first_fired_s = OptNum(w, "first_fired_s", wwhere);
        b.evaluated = w.contains("evaluated") ? Bool(w, "evaluated", wwhere) : true;
        slo.windows.push_back(std::move(b));
      }
    }
    slos.push_back(std::move(slo));
  }
  return slos;
}

// An optional JSON file: absent -> nullopt; present but malformed -> error.
template <typename T, typename Parse>
StatusOr<std::optional<T>> ReadOptional(const fs::path& path, Parse parse) {
  StatusOr<Json> j = ReadJson(path);
  if (!j.ok()) {
    if (j.status().code() == StatusCode::kNotFound) return std::optional<T>();
    return j.status();
  }
  try {
    return std::optional<T>(parse(*j));
  } catch (const FieldError& e) {
    return InvalidArgument(path.string() + ": " + e.message);
  }
}

std::vector<std::string_view> Split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = line.find(sep, start);
    out.push_back(line.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

Status LoadFromJson(const Json& j, size_t i, const fs::path& dir, Load& load) {
  const std::string where = Indexed("loads", i);
  load.name = Str(j, "name", where);
  load.target = OptStr(j, "target");
  load.offset_s = OptNum(j, "offset_s", where).value_or(0);
  const fs::path csv_path = dir / Str(j, "timeseries", where);
  StatusOr<std::string> csv = ReadFile(csv_path);
  if (!csv.ok()) return csv.status();
  auto seconds = ParseTimeseriesCsv(*csv, csv_path.string(), load.offset_s);
  if (!seconds.ok()) return seconds.status();
  load.seconds = std::move(*seconds);
  const std::string json_name = OptStr(j, "json");
  if (json_name.empty()) return Status::Ok();
  auto summary = ReadOptional<LoadSummary>(dir / json_name, SummaryFromJson);
  if (!summary.ok()) return summary.status();
  load.summary = std::move(*summary);
  return Status::Ok();
}

Status ReadRunJson(const fs::path& dir, LabRun& run) {
  const fs::path path = dir / "run.json";
  StatusOr<Json> j = ReadJson(path);
  if (!j.ok()) return j.status();
  try {
    const std::string schema = Str(*j, "schema");
    if (schema != kSchema) {
      return InvalidArgument(path.string() + ": schema '" + schema + "' is not " +
                             std::string(kSchema));
    }
    run.scenario = Str(*j, "scenario");
    run.started_unix_ms = static_cast<std::int64_t>(Num(*j, "started_unix_ms"));
    run.duration_s = Num(*j, "duration_s");
    run.passed = Bool(*j, "passed");
    const Json& loads = Array(*j, "loads");
    for (size_t i = 0; i < loads.size(); ++i) {
      Load load;
      if (Status s = LoadFromJson(loads[i], i, dir, load); !s.ok()) return s;
      run.loads.push_back(std::move(load));
    }
    if (j->contains("checks")) {
      const Json& checks = Array(*j, "checks");
      for (size_t i = 0; i < checks.size(); ++i) {
        const std::string where = Indexed("checks", i);
        run.checks.push_back({Str(checks[i], "name", where), Bool(checks[i], "passed", where),
                              Num(checks[i], "seconds", where), OptStr(checks[i], "note")});
      }
    }
    if (j->contains("processes")) {
      const Json& procs = Array(*j, "processes");
      for (size_t i = 0; i < procs.size(); ++i) {
        run.processes.push_back(Str(procs[i], "name", Indexed("processes", i)));
      }
    }
  } catch (const FieldError& e) {
    return InvalidArgument(path.string() + ": " + e.message);
  }
  return Status::Ok();
}

void ReadMetrics(const fs::path& dir, LabRun& run) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir / "metrics", ec)) {
    if (entry.path().extension() == ".prom") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    StatusOr<std::string> text = ReadFile(file);
    if (!text.ok()) continue;  // optional input: a file that vanished is not worth failing for
    ProcessRate rate =
        ParseCounterRate(*text, file.stem().string(), "process_cpu_seconds_total");
    if (!rate.t.empty()) run.cpu.push_back(std::move(rate));
  }
}

}  // namespace

StatusOr<std::vector<LoadSecond>> ParseTimeseriesCsv(const std::string& text,
                                                     const std::string& name, double offset_s) {
  std::vector<std::string_view> lines = Split(text, '\n');
  for (auto& line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  if (lines.empty() || lines[0].empty()) return InvalidArgument(name + ": empty, want a header");
  const std::vector<std::string_view> header = Split(lines[0], ',');
  std::map<std::string_view, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column.emplace(header[i], i);
  size_t idx[std::size(kRequiredColumns)];
  for (size_t c = 0; c < std::size(kRequiredColumns); ++c) {
    auto it = column.find(kRequiredColumns[c]);
    if (it == column.end()) {
      return InvalidArgument(name + ": header lacks column '" + kRequiredColumns[c] + "'");
    }
    idx[c] = it->second;
  }
  std::optional<size_t> over_limit_col;  // written by `keel load rls://`
  if (auto it = column.find("over_limit"); it != column.end()) over_limit_col = it->second;
  std::vector<LoadSecond> rows;
  for (size_t n = 1; n < lines.size(); ++n) {
    if (lines[n].empty()) continue;
    const std::string at = name + ":" + std::to_string(n + 1) + ": ";
    const std::vector<std::string_view> f = Split(lines[n], ',');
    if (f.size() != header.size()) {
      return InvalidArgument(at + "expected " + std::to_string(header.size()) + " fields, got " +
                             std::to_string(f.size()));
    }
    LoadSecond row;
    double t = 0;
    std::uint64_t* counts[] = {&row.sent, &row.completed, &row.errors};
    double* values[] = {&t, &row.p50_ms, &row.p99_ms, &row.p999_ms};
    for (size_t c = 0; c < std::size(kRequiredColumns); ++c) {
      std::string_view field = f[idx[c]];
      const bool ok = c >= 1 && c <= 3 ? ParseNumber(field, *counts[c - 1])
                                       : ParseNumber(field, *values[c == 0 ? 0 : c - 3]);
      if (!ok) {
        return InvalidArgument(at + "column '" + kRequiredColumns[c] + "' is not a number: '" +
                               std::string(field) + "'");
      }
    }
    if (over_limit_col) {
      std::uint64_t count = 0;
      if (!ParseNumber(f[*over_limit_col], count)) {
        return InvalidArgument(at + "column 'over_limit' is not a number: '" + std::string(f[*over_limit_col]) + "'");
      }
      row.over_limit = count;
    }
    row.t = offset_s + t;
    rows.push_back(row);
  }
  return rows;
}

ProcessRate ParseCounterRate(const std::string& text, const std::string& process,
                             const std::string& metric) {
  ProcessRate out;
  out.process = process;
  std::optional<double> prev_t, prev_v;
  std::optional<double> cur_t;
  double cur_sum = 0;
  bool cur_seen = false;
  auto close_scrape = [&] {
    if (!cur_t) return;
    if (cur_seen) {
      // A counter that went down was reset (a restart): no rate across it.
      if (prev_t && *cur_t > *prev_t && cur_sum >= *prev_v) {
        out.t.push_back(*cur_t);
        out.rate.push_back((cur_sum - *prev_v) / (*cur_t - *prev_t));
      }
      prev_t = cur_t;
      prev_v = cur_sum;
    }
    cur_t.reset();
    cur_sum = 0;
    cur_seen = false;
  };
  for (std::string_view line : Split(text, '\n')) {
    if (line.starts_with(kScrapeMarker)) {
      close_scrape();
      std::string_view num = line.substr(kScrapeMarker.size());
      while (!num.empty() && (num.back() == '\r' || num.back() == ' ')) num.remove_suffix(1);
      double t = 0;
      if (ParseNumber(num, t)) cur_t = t;
      continue;
    }
    if (!cur_t || !line.starts_with(metric)) continue;
    std::string_view rest = line.substr(metric.size());
    if (rest.empty() || (rest[0] != ' ' && rest[0] != '{')) continue;  // a longer name
    if (rest[0] == '{') {
      size_t close = rest.rfind('}');
      if (close == std::string_view::npos) continue;
      rest = rest.substr(close + 1);
    }
    const std::string value(rest);
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str()) continue;
    cur_sum += v;
    cur_seen = true;
  }
  close_scrape();
  return out;
}

StatusOr<LabRun> ReadLabRun(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound(dir + ": not a directory");
  LabRun run;
  run.dir = dir;
  if (Status s = ReadRunJson(dir, run); !s.ok()) return s;
  auto faults = ReadOptional<std::vector<Fault>>(fs::path(dir) / "faults.json", FaultsFromJson);
  if (!faults.ok()) return faults.status();
  if (*faults) run.faults = std::move(**faults);
  auto slos = ReadOptional<std::vector<Slo>>(fs::path(dir) / "slos.json", SlosFromJson);
  if (!slos.ok()) return slos.status();
  if (*slos) run.slos = std::move(**slos);
  ReadMetrics(dir, run);
  return run;
}

}  // namespace keel::labreport
