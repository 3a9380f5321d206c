#include "keel/trace/tracer.h"

#include <gtest/gtest.h>

#include <thread>

#include "fakes.h"

namespace keel::trace {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kSampledParent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view kUnsampledParent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

class TracerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Tracer> Make(TracerOptions o = {}) {
    if (o.service_name.empty()) o.service_name = "orders";
    auto t = Tracer::Create(o, std::make_unique<testing::RecordingExporter>(&sink_), registry_,
                            {&clock_, &wall_, 42});
    EXPECT_TRUE(t.ok());
    return std::move(*t);
  }
  std::uint64_t Dropped(std::string_view result) {
    return registry_.AddCounter("keel_trace_spans_total", "", {"result"}).Get({result})->Value();
  }

  obs::Registry registry_;
  ManualClock clock_;
  ManualWallClock wall_{1'700'000'000'000'000'000};
  testing::RecordingExporter::Shared sink_;
};

TEST_F(TracerTest, ContinuesIncomingTraceparent) {
  auto tracer = Make({.sample_ratio = 0});
  Span s = tracer->StartServerSpan("GET /x", kSampledParent, "a=1");
  auto parent = obs::TraceContext::Parse(kSampledParent);
  EXPECT_EQ(s.ctx.trace_id, parent->trace_id);
  EXPECT_EQ(s.ctx.parent_span_id, parent->parent_span_id);
  EXPECT_NE(s.ctx.span_id, parent->parent_span_id);
  EXPECT_TRUE(s.sampled());
  EXPECT_EQ(s.tracestate, "a=1");
  Span c = tracer->StartClientSpan(s.context(), "GET");
  EXPECT_EQ(c.ctx.trace_id, s.ctx.trace_id);
  EXPECT_EQ(c.ctx.parent_span_id, s.ctx.span_id);
  EXPECT_TRUE(c.sampled());
  clock_.Advance(milliseconds(3));
  tracer->End(std::move(c));
  tracer->End(std::move(s));
  ASSERT_EQ(sink_.traces.size(), 1u);
  ASSERT_EQ(sink_.traces[0].size(), 2u);
  EXPECT_EQ(sink_.traces[0][1].kind, SpanKind::kServer);
  EXPECT_EQ(sink_.traces[0][1].end_unix_nanos - sink_.traces[0][1].start_unix_nanos, 3'000'000);
}

TEST_F(TracerTest, InvalidParentStartsNewRootAndDropsTracestate) {
  auto tracer = Make({.sample_ratio = 0});
  Span s = tracer->StartServerSpan("GET /x", "junk", "a=1");
  EXPECT_FALSE(s.ctx.has_parent());
  EXPECT_FALSE(s.sampled());
  EXPECT_EQ(s.tracestate, "");
  Span t = tracer->StartServerSpan("GET /x", kSampledParent, "bad key=1");
  EXPECT_EQ(t.tracestate, "");
}

TEST_F(TracerTest, UnsampledOrdinaryTraceIsDroppedAndCounted) {
  auto tracer = Make({.sample_ratio = 0});
  Span s = tracer->StartServerSpan("GET /x", kUnsampledParent);
  EXPECT_FALSE(s.sampled());
  Span c = tracer->StartClientSpan(s.context(), "GET");
  EXPECT_FALSE(c.sampled());
  tracer->End(std::move(c));
  tracer->End(std::move(s));
  EXPECT_TRUE(sink_.traces.empty());
  EXPECT_EQ(Dropped("dropped_unsampled"), 2u);
  EXPECT_EQ(tracer->pending_traces(), 0u);
}

TEST_F(TracerTest, KeepsTraceWithAnErrorSpan) {
  auto tracer = Make({.sample_ratio = 0});
  Span s = tracer->StartServerSpan("GET /x", "");
  Span c = tracer->StartClientSpan(s.context(), "GET");
  c.SetStatus(SpanStatus::kError, "503");
  tracer->End(std::move(c));
  tracer->End(std::move(s));
  ASSERT_EQ(sink_.traces.size(), 1u);
  EXPECT_EQ(sink_.traces[0].size(), 2u);
}

TEST_F(TracerTest, KeepsSlowTrace) {
  auto tracer = Make({.sample_ratio = 0, .slow_threshold = milliseconds(500)});
  Span fast = tracer->StartServerSpan("GET /x", "");
  clock_.Advance(milliseconds(499));
  tracer->End(std::move(fast));
  Span slow = tracer->StartServerSpan("GET /x", "");
  clock_.Advance(milliseconds(500));
  tracer->End(std::move(slow));
  EXPECT_EQ(sink_.traces.size(), 1u);
}

TEST_F(TracerTest, KeepsAboutSampleRatioOfOrdinaryTraces) {
  auto tracer = Make({.sample_ratio = 0.1});
  int sampled_flag = 0;
  for (int i = 0; i < 10000; ++i) {
    Span s = tracer->StartServerSpan("GET /x", "");
    sampled_flag += s.sampled();
    tracer->End(std::move(s));
  }
  EXPECT_EQ(static_cast<int>(sink_.traces.size()), sampled_flag);  // outgoing flag == kept
  EXPECT_GT(sink_.traces.size(), 900u);
  EXPECT_LT(sink_.traces.size(), 1100u);
}

TEST_F(TracerTest, BoundsPendingTraces) {
  auto tracer = Make({.sample_ratio = 0, .max_pending_traces = 16});
  std::vector<Span> open;
  for (int i = 0; i < 200; ++i) open.push_back(tracer->StartServerSpan("GET /x", ""));
  EXPECT_LE(tracer->pending_traces(), 16u);
  for (auto& s : open) tracer->End(std::move(s));
  EXPECT_EQ(tracer->pending_traces(), 0u);
  EXPECT_EQ(Dropped("dropped_unsampled"), 200u);
}

TEST_F(TracerTest, BoundsSpansPerTrace) {
  auto tracer = Make({.sample_ratio = 1, .max_spans_per_trace = 4});
  Span s = tracer->StartServerSpan("GET /x", "");
  for (int i = 0; i < 10; ++i) tracer->End(tracer->StartClientSpan(s.context(), "GET"));
  tracer->End(std::move(s));
  ASSERT_EQ(sink_.traces.size(), 1u);
  EXPECT_EQ(sink_.traces[0].size(), 4u);
  EXPECT_EQ(Dropped("dropped_limit"), 7u);
}

TEST_F(TracerTest, RejectsBadOptions) {
  EXPECT_FALSE(Tracer::Create({.service_name = ""}, std::make_unique<testing::RecordingExporter>(&sink_),
                              registry_).ok());
  EXPECT_FALSE(Tracer::Create({.service_name = "x", .sample_ratio = 1.5},
                              std::make_unique<testing::RecordingExporter>(&sink_), registry_)
                   .ok());
}

TEST_F(TracerTest, SpansOfOneTraceEndOnManyThreads) {
  auto tracer = Make({.sample_ratio = 1});
  constexpr int kTraces = 200, kThreads = 4;
  for (int i = 0; i < kTraces; ++i) {
    Span root = tracer->StartServerSpan("GET /x", "");
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] { tracer->End(tracer->StartClientSpan(root.context(), "GET")); });
    }
    for (auto& th : threads) th.join();
    tracer->End(std::move(root));
  }
  ASSERT_EQ(sink_.traces.size(), static_cast<std::size_t>(kTraces));
  for (const auto& t : sink_.traces) EXPECT_EQ(t.size(), static_cast<std::size_t>(kThreads + 1));
}

}  // namespace
}  // namespace keel::trace
