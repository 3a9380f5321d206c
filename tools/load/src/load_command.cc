#include "keel/load/load_command.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "keel/load/hlog.h"
#include "keel/load/load_engine.h"
#include "keel/load/report.h"
#include "keel/load/results_writer.h"

namespace keel::load {
namespace {

int UsageError(const std::string& message) {
  std::fprintf(stderr, "keel: error: %s\n", message.c_str());
  return 2;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read file '" + path + "'");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Builds the engine config from flags; errors are one line for the user.
StatusOr<LoadConfig> BuildConfig(const LoadFlags& f) {
  LoadConfig cfg;
  cfg.url = f.url;
  auto target = ParseUrl(f.url);
  if (!target.ok()) return target.status();
  cfg.target = *target;

  auto duration = ParseDuration(f.duration);
  if (!duration.ok()) return InvalidArgument("--duration: " + duration.status().message());
  if (duration->count() <= 0) return InvalidArgument("--duration must be positive");
  cfg.duration = *duration;
  auto warmup = ParseDuration(f.warmup);
  if (!warmup.ok()) return InvalidArgument("--warmup: " + warmup.status().message());
  cfg.warmup = *warmup;
  auto timeout = ParseDuration(f.timeout);
  if (!timeout.ok()) return InvalidArgument("--timeout: " + timeout.status().message());
  if (timeout->count() <= 0) return InvalidArgument("--timeout must be positive");
  cfg.timeout = *timeout;
  if (f.connections < 1) return InvalidArgument("--connections must be at least 1");
  if (f.threads < 1) return InvalidArgument("--threads must be at least 1");
  cfg.connections = f.connections;
  cfg.threads = f.threads;

  if (!f.rate.empty() && !f.stages.empty()) {
    return InvalidArgument("--rate and --stages cannot be combined");
  }
  if (!f.rate.empty()) {
    auto p = RateProfile::ParseRate(f.rate, cfg.duration);
    if (!p.ok()) return InvalidArgument("--rate: " + p.status().message());
    cfg.profile = std::move(*p);
  } else if (!f.stages.empty()) {
    auto p = RateProfile::ParseStages(f.stages);
    if (!p.ok()) return InvalidArgument("--stages: " + p.status().message());
    cfg.profile = std::move(*p);
  }

  if (cfg.target.protocol == Protocol::kRls) {
    if (!f.requests_file.empty() || !f.headers.empty() || !f.body.empty() || f.method != "GET") {
      return InvalidArgument("--requests, --header, --body and --method are for http:// URLs, not rls://");
    }
    if (f.domain.empty()) return InvalidArgument("--domain is required for rls://");
    if (f.descriptors.empty()) return InvalidArgument("--descriptor is required for rls:// (e.g. 'k=v')");
    if (f.hits < 0) return InvalidArgument("--hits must not be negative");
    RlsRequestSpec spec;
    spec.domain = f.domain;
    spec.hits_addend = static_cast<std::uint32_t>(f.hits);
    for (const auto& d : f.descriptors) {
      auto parsed = ParseDescriptor(d);
      if (!parsed.ok()) return InvalidArgument("--descriptor: " + parsed.status().message());
      spec.descriptors.push_back(std::move(*parsed));
    }
    cfg.rls = std::move(spec);
  } else if (!f.domain.empty() || !f.descriptors.empty() || f.hits != 0) {
    return InvalidArgument("--domain, --descriptor and --hits are for rls:// URLs");
  } else if (!f.requests_file.empty()) {
    auto specs = LoadRequestFile(f.requests_file);
    if (!specs.ok()) return specs.status();
    cfg.requests = std::move(*specs);
    if (cfg.requests.empty()) return InvalidArgument("--requests: no request in '" + f.requests_file + "'");
  } else {
    RequestSpec spec;
    spec.method = f.method;
    if (spec.method.empty() || spec.method.find_first_of(" \r\n\t") != std::string::npos) {
      return InvalidArgument("--method: invalid method '" + f.method + "'");
    }
    auto t = Template::Parse(cfg.target.target);
    if (!t.ok()) return InvalidArgument("URL: " + t.status().message());
    spec.target = std::move(*t);
    for (const auto& h : f.headers) {
      auto colon = h.find(':');
      if (colon == std::string::npos || colon == 0 || h.find_first_of("\r\n") != std::string::npos) {
        return InvalidArgument("--header: expected 'Name: value', got '" + h + "'");
      }
      std::string value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      auto vt = Template::Parse(value);
      if (!vt.ok()) return InvalidArgument("--header: " + vt.status().message());
      spec.headers.emplace_back(h.substr(0, colon), std::move(*vt));
    }
    std::string body = f.body;
    if (!body.empty() && body[0] == '@') {
      auto text = ReadFile(body.substr(1));
      if (!text.ok()) return InvalidArgument("--body: " + text.status().message());
      body = *text;
    }
    auto bt = Template::Parse(body);
    if (!bt.ok()) return InvalidArgument("--body: " + bt.status().message());
    spec.body = std::move(*bt);
    cfg.requests.push_back(std::move(spec));
  }

  for (std::string_view rest = f.count_within; !rest.empty();) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    auto d = ParseDuration(item);
    if (!d.ok()) return InvalidArgument("--count-within: " + d.status().message());
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(*d).count();
    if (us <= 0) return InvalidArgument("--count-within: thresholds must be at least 1us");
    cfg.count_within_us.push_back(us);
  }
  if (cfg.count_within_us.size() > kMaxCountWithin) {
    return InvalidArgument("--count-within: at most " + std::to_string(kMaxCountWithin) + " thresholds");
  }
  if (!f.slo.empty()) {
    auto bounds = ParseSlo(f.slo);
    if (!bounds.ok()) return InvalidArgument("--slo: " + bounds.status().message());
    cfg.slos = std::move(*bounds);
  }
  return cfg;
}

}  // namespace

int RunLoadCommand(const LoadFlags& flags) {
  auto cfg = BuildConfig(flags);
  if (!cfg.ok()) return UsageError(cfg.status().message());

  std::unique_ptr<HlogWriter> hlog;
  if (!flags.hlog_file.empty()) {
    const double now_s = std::chrono::duration<double>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
    auto w = HlogWriter::Open(flags.hlog_file, now_s);
    if (!w.ok()) return UsageError("--hlog: " + w.status().message());
    hlog = std::move(*w);
    cfg->on_second = [&hlog](const SecondRow&, const obs::LatencyHistogram& h, double offset_s) {
      (void)hlog->WriteInterval(offset_s, 1.0, h);
    };
  }
  std::ofstream json_out, ts_out;
  if (!flags.json_file.empty()) {
    json_out.open(flags.json_file);
    if (!json_out) return UsageError("--json: cannot write '" + flags.json_file + "'");
  }
  if (!flags.timeseries_file.empty()) {
    ts_out.open(flags.timeseries_file);
    if (!ts_out) return UsageError("--timeseries: cannot write '" + flags.timeseries_file + "'");
  }

  std::unique_ptr<ResultsFile> results;
  if (!flags.results_file.empty()) {
    auto f = ResultsFile::Create(flags.results_file);
    if (!f.ok()) return UsageError("--results: " + f.status().message());
    results = std::move(*f);
    cfg->results = results.get();
  }

  auto result = RunLoad(*cfg);
  if (!result.ok()) return UsageError(result.status().message());
  const Status results_written = results ? results->Close() : Status::Ok();

  std::cout << HumanSummary(*result) << "\n" << PercentileSpectrum(result->corrected);
  std::cout.flush();
  if (json_out.is_open()) json_out << ToJson(*result) << "\n";
  if (ts_out.is_open()) WriteTimeseries(*result, ts_out);
  if (!results_written.ok()) {
    std::fprintf(stderr, "keel: error: --results: %s\n", results_written.message().c_str());
    return 1;
  }
  for (const auto& s : result->slos) {
    if (!s.passed) return 1;
  }
  return 0;
}

}  // namespace keel::load
