// Metrics: counters, gauges and Prometheus histograms, exposed in Prometheus
// text format 0.0.4 or OpenMetrics 1.0.
//
// Hot-path updates are lock-free: each metric keeps one cache-line-sized cell
// per shard and a thread updates the shard it was assigned, so workers never
// contend. Series of a labelled family are created on first use (under the
// family's mutex, allocating); callers on a hot path resolve the series once
// and keep the pointer, which stays valid for the registry's lifetime.
//
// Cardinality is bounded: a family holds at most `max_series` label
// combinations; later ones all land in one series whose label values are
// "_other", and keel_metrics_overflow_total counts them.
//
//   Registry registry;
//   CounterFamily& requests = registry.AddCounter(
//       "keel_http_requests_total", "HTTP requests served.", {"route", "method", "code"});
//   Counter* ok = requests.Get({"/hello", "GET", "200"});
//   ok->Inc();
//   std::string text = registry.Render(ExpositionFormat::kPrometheusText);
//
// Thread-safety: all methods are thread-safe. Families and series are owned by
// the registry and live as long as it does.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace keel::obs {

inline constexpr int kMetricShards = 16;

// The shard of the calling thread: threads are assigned round-robin on first use.
int CurrentShard();

class Counter {
 public:
  void Inc(std::uint64_t n = 1) {
    cells_[CurrentShard()].value.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t Value() const;

 private:
  struct alignas(64) Cell {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Cell, kMetricShards> cells_;
};

// A value that goes up and down (open connections, memory). Not sharded:
// gauges are set or moved far less often than counters are bumped.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

struct TraceContext;

// A Prometheus histogram with fixed upper bounds (the +Inf bucket is implicit).
//
// Exemplars: Observe(value, &ctx) also records (trace id, span id, value,
// time) as its bucket's latest exemplar, shown only in OpenMetrics output
// (`... # {trace_id="..",span_id=".."} 0.043 1700000000.123`).
class Histogram {
 public:
  // REQUIRES: bounds strictly increasing and outliving the histogram.
  explicit Histogram(const std::vector<double>& bounds);
  ~Histogram();
  void Observe(double value);
  // As Observe(value); when `exemplar` is not null it becomes the bucket's
  // latest exemplar — best effort: if another thread is writing that
  // bucket's exemplar at the same instant this one is skipped, never waited for.
  void Observe(double value, const TraceContext* exemplar);

  struct Exemplar {
    std::array<char, 32> trace_id{};
    std::array<char, 16> span_id{};
    double value = 0;
    double unix_seconds = 0;
    bool set = false;
  };
  // The latest exemplar of bucket i (0 .. bounds().size(), the last is +Inf).
  Exemplar ExemplarAt(std::size_t i) const;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot Collect() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  struct alignas(64) Shard {
    std::atomic<double> sum{0};
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts;  // bounds + 1
  };
  struct ExemplarSlot;
  const std::vector<double>& bounds_;
  std::array<Shard, kMetricShards> shards_;
  std::unique_ptr<ExemplarSlot[]> exemplars_;  // bounds + 1, allocated on first exemplar
  std::atomic<ExemplarSlot*> exemplars_ready_{nullptr};
  std::mutex exemplars_init_mu_;
};

// Default latency buckets in seconds: 50 µs .. 10 s.
const std::vector<double>& DefaultLatencyBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

// A named metric with a fixed list of label names and one series per label values.
template <typename M>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::size_t max_series, std::function<std::unique_ptr<M>()> make, Counter* overflow)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        max_series_(max_series), make_(std::move(make)), overflow_(overflow) {}

  // Returns the series for these label values (one per label name).
  // REQUIRES: label_values.size() == label_names().size().
  M* Get(std::initializer_list<std::string_view> label_values) {
    return Get(std::vector<std::string_view>(label_values));
  }
  M* Get(const std::vector<std::string_view>& label_values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Visits every series: fn(label_values, metric).
  void ForEach(const std::function<void(const std::vector<std::string>&, const M&)>& fn) const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::size_t max_series_;
  const std::function<std::unique_ptr<M>()> make_;
  Counter* const overflow_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> series_;  // GUARDED_BY(mu_)
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

enum class ExpositionFormat { kPrometheusText, kOpenMetrics };

// Content-Type header value for a format.
std::string_view ContentType(ExpositionFormat format);
// Picks OpenMetrics when an Accept header asks for application/openmetrics-text.
ExpositionFormat NegotiateFormat(std::string_view accept_header);

class Registry {
 public:
  explicit Registry(std::size_t max_series_per_family = 1000);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // REQUIRES: valid Prometheus names; counters end in "_total". Adding a name
  // that exists returns the existing family (its labels and help are kept).
  // `max_series` > 0 caps this family instead of the registry's default.
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {}, std::size_t max_series = 0);
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                const std::vector<double>& bounds = DefaultLatencyBuckets());
  // A metric without labels whose value is computed at scrape time.
  void AddCallback(std::string name, std::string help, MetricType type,
                   std::function<double()> value);

  std::string Render(ExpositionFormat format) const;

 private:
  struct Callback {
    std::string name, help;
    MetricType type;
    std::function<double()> value;
  };
  const std::size_t max_series_;
  Counter overflow_;
  mutable std::mutex mu_;
  // deque: stable addresses for the references handed out.
  std::deque<CounterFamily> counters_;       // GUARDED_BY(mu_)
  std::deque<GaugeFamily> gauges_;           // GUARDED_BY(mu_)
  std::deque<HistogramFamily> histograms_;   // GUARDED_BY(mu_)
  std::vector<Callback> callbacks_;          // GUARDED_BY(mu_)
};

// The process-wide registry services and the HTTP runtime register into.
Registry& DefaultRegistry();

}  // namespace keel::obs
