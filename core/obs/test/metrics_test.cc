#include "keel/obs/metrics.h"
#include "keel/obs/trace_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace keel::obs {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Runs fn(thread_index) on `n` threads at once and joins them.
template <typename Fn>
void RunThreads(int n, Fn fn) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(fn, i);
  for (auto& t : threads) t.join();
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(CounterTest, SumsIncrementsFromManyThreads) {
  Counter c;
  constexpr int kThreads = 8;
  constexpr int kIncrements = 100000;
  RunThreads(kThreads, [&](int) {
    for (int i = 0; i < kIncrements; ++i) c.Inc();
  });
  EXPECT_EQ(c.Value(), std::uint64_t{kThreads} * kIncrements);
  c.Inc(5);
  EXPECT_EQ(c.Value(), std::uint64_t{kThreads} * kIncrements + 5);
}

TEST(GaugeTest, SetReplacesAndAddMoves) {
  Gauge g;
  EXPECT_EQ(g.Value(), 0);
  g.Set(5);
  EXPECT_EQ(g.Value(), 5);
  g.Add(2.5);
  EXPECT_EQ(g.Value(), 7.5);
  g.Add(-10);
  EXPECT_EQ(g.Value(), -2.5);
  g.Set(1);
  EXPECT_EQ(g.Value(), 1);
}

TEST(GaugeTest, ConcurrentAddsAreNotLost) {
  Gauge g;
  RunThreads(4, [&](int t) {
    for (int i = 0; i < 20000; ++i) g.Add(t % 2 == 0 ? 1 : -0.5);
  });
  EXPECT_EQ(g.Value(), 2 * 20000 * 1.0 - 2 * 20000 * 0.5);
}

TEST(HistogramTest, BucketsAreCumulativeAndBoundsInclusive) {
  static const std::vector<double> kBounds = {1, 2, 5};
  Histogram h(kBounds);
  // 1 and 2 and 5 equal a bound, so they count in that bound's bucket (le = "less or equal").
  for (double v : {0.5, 1.0, 1.5, 2.0, 5.0, 7.0}) h.Observe(v);
  Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 4, 5, 6}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 17.0);
}

TEST(HistogramTest, EmptyHistogramCollectsZeros) {
  static const std::vector<double> kBounds = {0.1, 1};
  Histogram h(kBounds);
  Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, 0, 0}));
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum, 0);
}

TEST(HistogramTest, CountsObservationsFromManyThreads) {
  static const std::vector<double> kBounds = {1, 10};
  Histogram h(kBounds);
  RunThreads(6, [&](int) {
    for (int i = 0; i < 10000; ++i) h.Observe(i % 2 == 0 ? 0.5 : 20);
  });
  Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.count, 60000u);
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{30000, 30000, 60000}));
  EXPECT_DOUBLE_EQ(s.sum, 30000 * 0.5 + 30000 * 20.0);
}

TEST(HistogramTest, DefaultLatencyBucketsAreIncreasingFrom50usTo10s) {
  const std::vector<double>& b = DefaultLatencyBuckets();
  ASSERT_GE(b.size(), 2u);
  EXPECT_DOUBLE_EQ(b.front(), 0.00005);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]) << i;
}

TEST(FamilyTest, ReturnsSameSeriesForSameLabels) {
  Registry r;
  CounterFamily& f = r.AddCounter("keel_test_requests_total", "Requests.", {"route", "code"});
  Counter* a = f.Get({"/a", "200"});
  Counter* b = f.Get({"/b", "200"});
  Counter* a2 = f.Get({"/a", "500"});
  EXPECT_NE(a, b);
  EXPECT_NE(a, a2);
  EXPECT_EQ(f.Get({"/a", "200"}), a);
  EXPECT_EQ(f.Get({"/b", "200"}), b);
}

TEST(FamilyTest, ConcurrentGetsAgreeOnOneSeries) {
  Registry r;
  GaugeFamily& f = r.AddGauge("keel_test_open", "Open.", {"worker"});
  std::vector<Gauge*> got(8);
  RunThreads(8, [&](int t) { got[t] = f.Get({"w0"}); });
  for (Gauge* g : got) EXPECT_EQ(g, got[0]);
}

TEST(FamilyTest, ForEachVisitsEverySeriesWithItsLabels) {
  Registry r;
  CounterFamily& f = r.AddCounter("keel_test_total", "T.", {"k"});
  f.Get({"x"})->Inc(1);
  f.Get({"y"})->Inc(2);
  std::set<std::pair<std::string, std::uint64_t>> seen;
  f.ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
    ASSERT_EQ(labels.size(), 1u);
    seen.emplace(labels[0], c.Value());
  });
  EXPECT_EQ(seen, (std::set<std::pair<std::string, std::uint64_t>>{{"x", 1}, {"y", 2}}));
}

TEST(FamilyTest, FoldsSeriesBeyondTheCapIntoOtherAndCountsThem) {
  Registry r(/*max_series_per_family=*/2);
  CounterFamily& f = r.AddCounter("keel_test_requests_total", "Requests.", {"route", "code"});
  Counter* a = f.Get({"/a", "200"});
  Counter* b = f.Get({"/b", "200"});
  EXPECT_THAT(r.Render(ExpositionFormat::kPrometheusText),
              HasSubstr("\nkeel_metrics_overflow_total 0\n"));

  Counter* c = f.Get({"/c", "200"});
  Counter* d = f.Get({"/d", "404"});
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  EXPECT_EQ(d, c);  // every overflowing combination shares the one "_other" series
  // Series that existed before the cap keep working and do not count as overflow.
  EXPECT_EQ(f.Get({"/a", "200"}), a);

  c->Inc(3);
  std::string text = r.Render(ExpositionFormat::kPrometheusText);
  EXPECT_THAT(text,
              HasSubstr("keel_test_requests_total{route=\"_other\",code=\"_other\"} 3\n"));
  EXPECT_THAT(text, Not(HasSubstr("/c")));
  EXPECT_THAT(text, Not(HasSubstr("/d")));
  EXPECT_THAT(text, HasSubstr("\nkeel_metrics_overflow_total 2\n"));
}

TEST(FamilyTest, AFamilyMayHaveItsOwnCap) {
  Registry r(/*max_series_per_family=*/100);
  CounterFamily& f = r.AddCounter("keel_test_rules_total", "Rules.", {"rule"}, /*max_series=*/1);
  Counter* a = f.Get({"a"});
  Counter* b = f.Get({"b"});
  EXPECT_NE(a, b);
  EXPECT_EQ(f.Get({"c"}), b);  // "_other"
  EXPECT_THAT(r.Render(ExpositionFormat::kPrometheusText), HasSubstr("keel_test_rules_total{rule=\"_other\"} 0\n"));
}

TEST(FamilyTest, OverflowCounterIsSharedByAllFamiliesOfARegistry) {
  Registry r(1);
  r.AddCounter("keel_a_total", "A.", {"k"}).Get({"1"});
  r.AddCounter("keel_a_total", "A.", {"k"}).Get({"2"});
  r.AddGauge("keel_b", "B.", {"k"}).Get({"1"});
  r.AddGauge("keel_b", "B.", {"k"}).Get({"2"});
  EXPECT_THAT(r.Render(ExpositionFormat::kPrometheusText),
              HasSubstr("\nkeel_metrics_overflow_total 2\n"));
}

TEST(RegistryTest, AddingSameNameTwiceReturnsSameFamily) {
  Registry r;
  CounterFamily& c1 = r.AddCounter("keel_x_total", "First help.", {"a"});
  CounterFamily& c2 = r.AddCounter("keel_x_total", "Second help.", {"b", "c"});
  EXPECT_EQ(&c1, &c2);
  EXPECT_EQ(c2.help(), "First help.");
  EXPECT_EQ(c2.label_names(), (std::vector<std::string>{"a"}));

  GaugeFamily& g1 = r.AddGauge("keel_y", "Y.");
  EXPECT_EQ(&r.AddGauge("keel_y", "Other."), &g1);
  HistogramFamily& h1 = r.AddHistogram("keel_z_seconds", "Z.", {});
  EXPECT_EQ(&r.AddHistogram("keel_z_seconds", "Other.", {"x"}), &h1);

  std::string text = r.Render(ExpositionFormat::kPrometheusText);
  EXPECT_EQ(CountOccurrences(text, "# TYPE keel_x_total "), 1);
  EXPECT_EQ(CountOccurrences(text, "# TYPE keel_y "), 1);
  EXPECT_EQ(CountOccurrences(text, "# TYPE keel_z_seconds "), 1);
  EXPECT_THAT(text, Not(HasSubstr("Second help.")));
}

TEST(RegistryTest, HistogramFamilyKeepsItsOwnCopyOfTemporaryBounds) {
  Registry r;
  HistogramFamily& f = r.AddHistogram("keel_t_seconds", "T.", {"k"}, {0.25, 1});
  // Reuse the heap the temporary bounds list occupied.
  std::vector<std::vector<double>> noise(64, std::vector<double>(2, 99.0));
  Histogram* h = f.Get({"a"});
  EXPECT_EQ(h->bounds(), (std::vector<double>{0.25, 1}));
  h->Observe(0.5);
  EXPECT_EQ(h->Collect().cumulative, (std::vector<std::uint64_t>{0, 1, 1}));
  EXPECT_EQ(noise.size(), 64u);
}

TEST(RegistryTest, RendersPrometheusText004) {
  Registry r;
  CounterFamily& req = r.AddCounter("keel_test_requests_total", "Requests served.", {"route"});
  req.Get({"/a"})->Inc(3);
  req.Get({"/b"})->Inc();
  r.AddGauge("keel_test_open", "Open connections.").Get({})->Set(2.5);
  HistogramFamily& lat = r.AddHistogram("keel_test_seconds", "Latency.", {"route"}, {0.25, 1});
  for (double v : {0.125, 0.25, 0.5, 2.0}) lat.Get({"/a"})->Observe(v);

  EXPECT_EQ(r.Render(ExpositionFormat::kPrometheusText),
            "# HELP keel_test_requests_total Requests served.\n"
            "# TYPE keel_test_requests_total counter\n"
            "keel_test_requests_total{route=\"/a\"} 3\n"
            "keel_test_requests_total{route=\"/b\"} 1\n"
            "# HELP keel_test_open Open connections.\n"
            "# TYPE keel_test_open gauge\n"
            "keel_test_open 2.5\n"
            "# HELP keel_test_seconds Latency.\n"
            "# TYPE keel_test_seconds histogram\n"
            "keel_test_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n"
            "keel_test_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "keel_test_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "keel_test_seconds_sum{route=\"/a\"} 2.875\n"
            "keel_test_seconds_count{route=\"/a\"} 4\n"
            "# HELP keel_metrics_overflow_total Series folded into _other because a family "
            "reached its cardinality cap.\n"
            "# TYPE keel_metrics_overflow_total counter\n"
            "keel_metrics_overflow_total 0\n");
}

TEST(RegistryTest, RendersOpenMetrics) {
  Registry r;
  r.AddCounter("keel_test_requests_total", "Requests served.", {"route"}).Get({"/a"})->Inc(3);
  HistogramFamily& lat = r.AddHistogram("keel_test_seconds", "Latency.", {}, {0.25, 1});
  lat.Get({})->Observe(0.5);

  EXPECT_EQ(r.Render(ExpositionFormat::kOpenMetrics),
            "# HELP keel_test_requests Requests served.\n"
            "# TYPE keel_test_requests counter\n"
            "keel_test_requests_total{route=\"/a\"} 3\n"
            "# HELP keel_test_seconds Latency.\n"
            "# TYPE keel_test_seconds histogram\n"
            "keel_test_seconds_bucket{le=\"0.25\"} 0\n"
            "keel_test_seconds_bucket{le=\"1.0\"} 1\n"
            "keel_test_seconds_bucket{le=\"+Inf\"} 1\n"
            "keel_test_seconds_sum 0.5\n"
            "keel_test_seconds_count 1\n"
            "# HELP keel_metrics_overflow Series folded into _other because a family "
            "reached its cardinality cap.\n"
            "# TYPE keel_metrics_overflow counter\n"
            "keel_metrics_overflow_total 0\n"
            "# EOF\n");
}

TEST(RegistryTest, EmptyRegistryStillRendersOverflowAndEof) {
  Registry r;
  std::string prom = r.Render(ExpositionFormat::kPrometheusText);
  EXPECT_THAT(prom, StartsWith("# HELP keel_metrics_overflow_total "));
  EXPECT_THAT(prom, EndsWith("\nkeel_metrics_overflow_total 0\n"));
  EXPECT_THAT(prom, Not(HasSubstr("# EOF")));
  EXPECT_THAT(r.Render(ExpositionFormat::kOpenMetrics), EndsWith("0\n# EOF\n"));
}

TEST(RegistryTest, EscapesLabelValues) {
  struct Case {
    std::string value;
    std::string rendered;
  };
  const Case cases[] = {
      {"plain", "plain"},
      {"back\\slash", "back\\\\slash"},
      {"say \"hi\"", "say \\\"hi\\\""},
      {"two\nlines", "two\\nlines"},
      {"all\\\"\n", "all\\\\\\\"\\n"},
  };
  for (const Case& c : cases) {
    Registry r;
    r.AddCounter("keel_e_total", "E.", {"v"}).Get({c.value})->Inc();
    for (auto format : {ExpositionFormat::kPrometheusText, ExpositionFormat::kOpenMetrics}) {
      std::string text = r.Render(format);
      EXPECT_THAT(text, HasSubstr("keel_e_total{v=\"" + c.rendered + "\"} 1\n")) << c.value;
    }
  }
}

TEST(RegistryTest, EscapesHelpPerFormat) {
  Registry r;
  r.AddGauge("keel_h", "Has \\ and \"quotes\"\nand a newline.").Get({})->Set(1);
  // Text 0.0.4 escapes only backslash and newline in HELP; OpenMetrics escapes quotes too.
  EXPECT_THAT(r.Render(ExpositionFormat::kPrometheusText),
              HasSubstr("# HELP keel_h Has \\\\ and \"quotes\"\\nand a newline.\n"));
  EXPECT_THAT(r.Render(ExpositionFormat::kOpenMetrics),
              HasSubstr("# HELP keel_h Has \\\\ and \\\"quotes\\\"\\nand a newline.\n"));
}

TEST(RegistryTest, FormatsSampleValues) {
  struct Case {
    double value;
    const char* rendered;
  };
  const Case cases[] = {
      {0, "0"},
      {-3, "-3"},
      {0.1, "0.1"},
      {2.5, "2.5"},
      {1e20, "1e+20"},
      {123456789, "123456789"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const Case& c : cases) {
    Registry r;
    r.AddGauge("keel_v", "V.").Get({})->Set(c.value);
    EXPECT_THAT(r.Render(ExpositionFormat::kPrometheusText),
                HasSubstr("\nkeel_v " + std::string(c.rendered) + "\n"))
        << c.value;
  }
}

TEST(RegistryTest, CallbacksAreEvaluatedAtEveryRender) {
  Registry r;
  double temperature = 21.5;
  int scrapes = 0;
  r.AddCallback("keel_temp", "Temperature.", MetricType::kGauge, [&] { return temperature; });
  r.AddCallback("keel_scrapes_total", "Scrapes.", MetricType::kCounter,
                [&] { return static_cast<double>(++scrapes); });

  std::string first = r.Render(ExpositionFormat::kPrometheusText);
  EXPECT_THAT(first, HasSubstr("# HELP keel_temp Temperature.\n# TYPE keel_temp gauge\n"
                               "keel_temp 21.5\n"));
  EXPECT_THAT(first, HasSubstr("# TYPE keel_scrapes_total counter\nkeel_scrapes_total 1\n"));

  temperature = -4;
  std::string second = r.Render(ExpositionFormat::kOpenMetrics);
  EXPECT_THAT(second, HasSubstr("\nkeel_temp -4\n"));
  EXPECT_THAT(second, HasSubstr("# TYPE keel_scrapes counter\nkeel_scrapes_total 2\n"));
  EXPECT_EQ(scrapes, 2);
}

TEST(ExpositionTest, NegotiatesOpenMetricsOnlyWhenAsked) {
  struct Case {
    const char* accept;
    ExpositionFormat want;
  };
  const Case cases[] = {
      {"", ExpositionFormat::kPrometheusText},
      {"*/*", ExpositionFormat::kPrometheusText},
      {"text/plain; version=0.0.4", ExpositionFormat::kPrometheusText},
      {"application/openmetrics-text", ExpositionFormat::kOpenMetrics},
      {"application/openmetrics-text; version=1.0.0; charset=utf-8",
       ExpositionFormat::kOpenMetrics},
      {"application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;"
       "q=0.1",
       ExpositionFormat::kOpenMetrics},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NegotiateFormat(c.accept), c.want) << c.accept;
  }
}

TEST(ExpositionTest, ContentTypeMatchesFormat) {
  EXPECT_EQ(ContentType(ExpositionFormat::kPrometheusText),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(ContentType(ExpositionFormat::kOpenMetrics),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST(ExpositionTest, DefaultRegistryIsOneInstance) {
  EXPECT_EQ(&DefaultRegistry(), &DefaultRegistry());
}

TEST(ExemplarTest, RenderedOnlyInOpenMetricsBucketLines) {
  Registry registry;
  static const std::vector<double> kBounds{0.1, 1};
  auto& fam = registry.AddHistogram("keel_x_seconds", "x", {}, kBounds);
  Histogram* h = fam.Get({});
  TraceContext ctx =
      TraceContext::ContinueOrStart("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  h->Observe(0.05, &ctx);
  h->Observe(0.5);  // no exemplar for the 1.0 bucket
  std::string om = registry.Render(ExpositionFormat::kOpenMetrics);
  std::string span(ctx.SpanIdHex().data(), 16);
  EXPECT_THAT(om, ::testing::ContainsRegex(
                      "keel_x_seconds_bucket\\{le=\"0\\.1\"\\} 1 # \\{trace_id=\""
                      "4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"" + span +
                      "\"\\} 0\\.05 [0-9]+\\.[0-9]{3}\n"));
  EXPECT_THAT(om, ::testing::HasSubstr("keel_x_seconds_bucket{le=\"1.0\"} 2\n"));
  std::string prom = registry.Render(ExpositionFormat::kPrometheusText);
  EXPECT_EQ(prom.find('#', prom.find("keel_x_seconds_bucket")), prom.find("# HELP", prom.find("keel_x_seconds_bucket")));
  EXPECT_THAT(prom, ::testing::HasSubstr("keel_x_seconds_bucket{le=\"0.1\"} 1\n"));
}

TEST(ExemplarTest, KeepsLatestPerBucket) {
  static const std::vector<double> kBounds{1};
  Histogram h(kBounds);
  EXPECT_FALSE(h.ExemplarAt(0).set);
  TraceContext a = TraceContext::ContinueOrStart("");
  TraceContext b = TraceContext::ContinueOrStart("");
  h.Observe(0.2, &a);
  h.Observe(0.3, &b);
  Histogram::Exemplar e = h.ExemplarAt(0);
  EXPECT_TRUE(e.set);
  EXPECT_EQ(e.trace_id, b.TraceIdHex());
  EXPECT_DOUBLE_EQ(e.value, 0.3);
  EXPECT_FALSE(h.ExemplarAt(1).set);
  EXPECT_EQ(h.Collect().count, 2u);
}

}  // namespace
}  // namespace keel::obs
