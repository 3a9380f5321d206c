#include "keel/obs/metrics.h"

#include <chrono>

#include "keel/obs/trace_context.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace keel::obs {

int CurrentShard() {
  static std::atomic<int> next{0};
  thread_local int shard = next.fetch_add(1, std::memory_order_relaxed) % kMetricShards;
  return shard;
}

std::uint64_t Counter::Value() const {
  std::uint64_t total = 0;
  for (const auto& c : cells_) total += c.value.load(std::memory_order_relaxed);
  return total;
}

void Gauge::Add(double delta) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + delta, std::memory_order_relaxed)) {
  }
}

// One mutex per bucket, taken with try_lock by writers: an exemplar is a
// sample, so a writer that finds the slot busy drops its exemplar instead of
// waiting, and the hot path never blocks. Readers (scrapes) lock normally.
struct Histogram::ExemplarSlot {
  mutable std::mutex mu;
  Exemplar e;  // GUARDED_BY(mu)
};

Histogram::Histogram(const std::vector<double>& bounds) : bounds_(bounds) {
  for (auto& s : shards_) {
    s.counts = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  }
}

Histogram::~Histogram() = default;

void Histogram::Observe(double value, const TraceContext* exemplar) {
  Observe(value);
  if (exemplar == nullptr) return;
  ExemplarSlot* slots = exemplars_ready_.load(std::memory_order_acquire);
  if (slots == nullptr) {
    // Allocated once, on first use: histograms that never see an exemplar
    // (most of them) pay nothing.
    std::lock_guard<std::mutex> lock(exemplars_init_mu_);
    if (!exemplars_) exemplars_ = std::make_unique<ExemplarSlot[]>(bounds_.size() + 1);
    slots = exemplars_.get();
    exemplars_ready_.store(slots, std::memory_order_release);
  }
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ExemplarSlot& slot = slots[i];
  if (!slot.mu.try_lock()) return;
  slot.e.trace_id = exemplar->TraceIdHex();
  slot.e.span_id = exemplar->SpanIdHex();
  slot.e.value = value;
  slot.e.unix_seconds = std::chrono::duration<double>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  slot.e.set = true;
  slot.mu.unlock();
}

Histogram::Exemplar Histogram::ExemplarAt(std::size_t i) const {
  ExemplarSlot* slots = exemplars_ready_.load(std::memory_order_acquire);
  if (slots == nullptr || i > bounds_.size()) return {};
  std::lock_guard<std::mutex> lock(slots[i].mu);
  return slots[i].e;
}

void Histogram::Observe(double value) {
  // Bucket lists are short (about a dozen): a linear scan beats a binary search.
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  Shard& s = shards_[CurrentShard()];
  s.counts[i].fetch_add(1, std::memory_order_relaxed);
  double cur = s.sum.load(std::memory_order_relaxed);
  while (!s.sum.compare_exchange_weak(cur, cur + value, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snap;
  snap.cumulative.assign(bounds_.size() + 1, 0);
  for (const auto& s : shards_) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      snap.cumulative[i] += s.counts[i].load(std::memory_order_relaxed);
    }
    snap.sum += s.sum.load(std::memory_order_relaxed);
  }
  for (std::size_t i = 1; i < snap.cumulative.size(); ++i) {
    snap.cumulative[i] += snap.cumulative[i - 1];
  }
  snap.count = snap.cumulative.back();
  return snap;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                               0.0025,  0.005,  0.01,    0.025,  0.05,
                                               0.1,     0.25,   0.5,     1,      2.5,
                                               5,       10};
  return kBuckets;
}

template <typename M>
M* Family<M>::Get(const std::vector<std::string_view>& label_values) {
  std::vector<std::string> key(label_values.begin(), label_values.end());
  key.resize(label_names_.size());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(key);
  if (it != series_.end()) return it->second.get();
  if (series_.size() >= max_series_) {
    overflow_->Inc();
    std::fill(key.begin(), key.end(), "_other");
    it = series_.find(key);
    if (it != series_.end()) return it->second.get();
  }
  return series_.emplace(std::move(key), make_()).first->second.get();
}

template <typename M>
void Family<M>::ForEach(
    const std::function<void(const std::vector<std::string>&, const M&)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, metric] : series_) fn(labels, *metric);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

std::string_view ContentType(ExpositionFormat format) {
  return format == ExpositionFormat::kOpenMetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

ExpositionFormat NegotiateFormat(std::string_view accept) {
  return accept.find("application/openmetrics-text") != std::string_view::npos
             ? ExpositionFormat::kOpenMetrics
             : ExpositionFormat::kPrometheusText;
}

namespace {

void AppendEscaped(std::string* out, std::string_view s, bool is_help) {
  for (char c : s) {
    if (c == '\\') out->append("\\\\");
    else if (c == '\n') out->append("\\n");
    else if (c == '"' && !is_help) out->append("\\\"");
    else out->push_back(c);
  }
}

void AppendNumber(std::string* out, double v) {
  if (std::isnan(v)) { out->append("NaN"); return; }
  if (std::isinf(v)) { out->append(v > 0 ? "+Inf" : "-Inf"); return; }
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
    // Prefer the shortest text that reads back to the same double.
    for (int prec = 1; prec <= 17; ++prec) {
      char shorter[32];
      std::snprintf(shorter, sizeof shorter, "%.*g", prec, v);
      if (std::strtod(shorter, nullptr) == v) {
        std::snprintf(buf, sizeof buf, "%s", shorter);
        break;
      }
    }
  }
  out->append(buf);
}

void AppendHeader(std::string* out, std::string_view name, std::string_view help,
                  std::string_view type, ExpositionFormat format) {
  // OpenMetrics names a counter family without its "_total" suffix.
  if (format == ExpositionFormat::kOpenMetrics && type == "counter" && name.ends_with("_total")) {
    name.remove_suffix(6);
  }
  out->append("# HELP ").append(name).push_back(' ');
  AppendEscaped(out, help, format == ExpositionFormat::kPrometheusText);
  out->append("\n# TYPE ").append(name).push_back(' ');
  out->append(type).push_back('\n');
}

void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out->push_back(',');
    first = false;
    out->append(names[i]).append("=\"");
    AppendEscaped(out, values[i], false);
    out->push_back('"');
  }
  if (!extra_name.empty()) {
    if (!first) out->push_back(',');
    out->append(extra_name).append("=\"").append(extra_value).push_back('"');
  }
  out->push_back('}');
}

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

Registry::Registry(std::size_t max_series_per_family) : max_series_(max_series_per_family) {}

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names, std::size_t max_series) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& f : counters_) {
    if (f.name() == name) return f;  // registering twice yields the same family
  }
  return counters_.emplace_back(std::move(name), std::move(help), std::move(label_names),
                                max_series > 0 ? max_series : max_series_,
                                [] { return std::make_unique<Counter>(); },
                                &overflow_);
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& f : gauges_) {
    if (f.name() == name) return f;  // registering twice yields the same family
  }
  return gauges_.emplace_back(std::move(name), std::move(help), std::move(label_names),
                              max_series_, [] { return std::make_unique<Gauge>(); }, &overflow_);
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& f : histograms_) {
    if (f.name() == name) return f;  // registering twice yields the same family
  }
  // The family keeps its own copy: callers often pass a temporary list, and every
  // Histogram refers to the bounds for as long as the family (and its series) live.
  auto owned = std::make_shared<const std::vector<double>>(bounds);
  return histograms_.emplace_back(
      std::move(name), std::move(help), std::move(label_names), max_series_,
      [owned] { return std::make_unique<Histogram>(*owned); }, &overflow_);
}

void Registry::AddCallback(std::string name, std::string help, MetricType type,
                           std::function<double()> value) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.push_back({std::move(name), std::move(help), type, std::move(value)});
}

std::string Registry::Render(ExpositionFormat format) const {
  std::string out;
  out.reserve(16 * 1024);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& cb : callbacks_) {
    AppendHeader(&out, cb.name, cb.help, TypeName(cb.type), format);
    out.append(cb.name).push_back(' ');
    AppendNumber(&out, cb.value());
    out.push_back('\n');
  }
  for (const auto& f : counters_) {
    AppendHeader(&out, f.name(), f.help(), "counter", format);
    f.ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
      out.append(f.name());
      AppendLabels(&out, f.label_names(), labels);
      out.push_back(' ');
      AppendNumber(&out, static_cast<double>(c.Value()));
      out.push_back('\n');
    });
  }
  for (const auto& f : gauges_) {
    AppendHeader(&out, f.name(), f.help(), "gauge", format);
    f.ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
      out.append(f.name());
      AppendLabels(&out, f.label_names(), labels);
      out.push_back(' ');
      AppendNumber(&out, g.Value());
      out.push_back('\n');
    });
  }
  for (const auto& f : histograms_) {
    AppendHeader(&out, f.name(), f.help(), "histogram", format);
    f.ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
      Histogram::Snapshot snap = h.Collect();
      std::string le;
      for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
        le.clear();
        if (i == h.bounds().size()) le = "+Inf";
        else AppendNumber(&le, h.bounds()[i]);
        if (format == ExpositionFormat::kOpenMetrics && le.find_first_of(".eI") == std::string::npos) {
          le += ".0";  // OpenMetrics wants canonical floats for le
        }
        out.append(f.name()).append("_bucket");
        AppendLabels(&out, f.label_names(), labels, "le", le);
        out.push_back(' ');
        AppendNumber(&out, static_cast<double>(snap.cumulative[i]));
        if (format == ExpositionFormat::kOpenMetrics) {
          Histogram::Exemplar e = h.ExemplarAt(i);
          if (e.set) {
            out.append(" # {trace_id=\"").append(e.trace_id.data(), e.trace_id.size());
            out.append("\",span_id=\"").append(e.span_id.data(), e.span_id.size()).append("\"} ");
            AppendNumber(&out, e.value);
            char ts[32];
            std::snprintf(ts, sizeof ts, " %.3f", e.unix_seconds);
            out.append(ts);
          }
        }
        out.push_back('\n');
      }
      out.append(f.name()).append("_sum");
      AppendLabels(&out, f.label_names(), labels);
      out.push_back(' ');
      AppendNumber(&out, snap.sum);
      out.append("\n").append(f.name()).append("_count");
      AppendLabels(&out, f.label_names(), labels);
      out.push_back(' ');
      AppendNumber(&out, static_cast<double>(snap.count));
      out.push_back('\n');
    });
  }
  AppendHeader(&out, "keel_metrics_overflow_total",
               "Series folded into _other because a family reached its cardinality cap.",
               "counter", format);
  out.append("keel_metrics_overflow_total ");
  AppendNumber(&out, static_cast<double>(overflow_.Value()));
  out.push_back('\n');
  if (format == ExpositionFormat::kOpenMetrics) out.append("# EOF\n");
  return out;
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace keel::obs
