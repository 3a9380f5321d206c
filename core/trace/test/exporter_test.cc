#include "keel/trace/exporter.h"

#include <gtest/gtest.h>

#include <thread>

#include "fakes.h"

namespace keel::trace {
namespace {

using std::chrono::milliseconds;

class ExporterTest : public ::testing::Test {
 protected:
  std::unique_ptr<BatchSpanExporter> Make(ExporterOptions o = {}) {
    ExporterSeams seams;
    seams.clock = &clock_;
    seams.sleep = [this](Clock::duration d) {
      sleeps_.push_back(d);
      clock_.Advance(d);
    };
    seams.manual = true;
    auto e = BatchSpanExporter::Create(o, std::make_unique<testing::FakeTransport>(&net_),
                                       {"orders"}, registry_, seams);
    EXPECT_TRUE(e.ok());
    return std::move(*e);
  }
  static std::vector<Span> Spans(int n) { return std::vector<Span>(static_cast<std::size_t>(n)); }
  std::uint64_t Spans(std::string_view result) {
    return registry_.AddCounter("keel_trace_spans_total", "", {"result"}).Get({result})->Value();
  }
  std::uint64_t Requests(std::string_view result) {
    return registry_.AddCounter("keel_trace_export_requests_total", "", {"result"})
        .Get({result})
        ->Value();
  }

  obs::Registry registry_;
  ManualClock clock_;
  std::vector<Clock::duration> sleeps_;
  testing::FakeTransport::Shared net_;
};

TEST_F(ExporterTest, SendsFullBatchAtOnce) {
  auto e = Make({.batch_size = 512});
  e->Export(Spans(600));
  EXPECT_EQ(e->Pump(), 512u);
  EXPECT_EQ(e->Pump(), 0u);  // 88 left, not due yet
  EXPECT_EQ(Spans("exported"), 512u);
  EXPECT_EQ(e->queued(), 88u);
}

TEST_F(ExporterTest, SendsPartialBatchAfterDelay) {
  auto e = Make({.batch_delay = std::chrono::seconds(1)});
  e->Export(Spans(3));
  EXPECT_EQ(e->Pump(), 0u);
  clock_.Advance(milliseconds(999));
  EXPECT_EQ(e->Pump(), 0u);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(e->Pump(), 3u);
  EXPECT_EQ(net_.bodies.size(), 1u);
  EXPECT_EQ(Requests("ok"), 1u);
}

TEST_F(ExporterTest, DropsAndCountsWhenQueueFull) {
  auto e = Make({.max_queue = 10, .batch_size = 5});
  e->Export(Spans(14));
  EXPECT_EQ(e->queued(), 10u);
  EXPECT_EQ(Spans("dropped_queue_full"), 4u);
}

TEST_F(ExporterTest, RetriesOn503ThenSucceeds) {
  net_.script = {OtlpResult{Status(), 503, std::nullopt},
                 OtlpResult{Status(), 429, std::chrono::seconds(2)}};
  auto e = Make({.batch_size = 1});
  e->Export(Spans(1));
  EXPECT_EQ(e->Pump(), 1u);
  EXPECT_EQ(net_.bodies.size(), 3u);
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_LE(sleeps_[0], milliseconds(100));         // full jitter within the first backoff
  EXPECT_EQ(sleeps_[1], std::chrono::seconds(2));   // Retry-After honoured
  EXPECT_EQ(Spans("exported"), 1u);
  EXPECT_EQ(Requests("retryable"), 2u);
}

TEST_F(ExporterTest, GivesUpAfterMaxAttempts) {
  net_.script = {OtlpResult{Unavailable("refused"), 0, std::nullopt},
                 OtlpResult{Status(), 503, std::nullopt}, OtlpResult{Status(), 502, std::nullopt}};
  auto e = Make({.batch_size = 2, .max_attempts = 3});
  e->Export(Spans(2));
  e->Pump();
  EXPECT_EQ(net_.bodies.size(), 3u);
  EXPECT_EQ(Spans("dropped_export_failed"), 2u);
  EXPECT_EQ(Spans("exported"), 0u);
}

TEST_F(ExporterTest, DoesNotRetryClientError) {
  net_.script = {OtlpResult{Status(), 400, std::nullopt}};
  auto e = Make({.batch_size = 1});
  e->Export(Spans(1));
  e->Pump();
  EXPECT_EQ(net_.bodies.size(), 1u);
  EXPECT_EQ(Requests("failed"), 1u);
  EXPECT_EQ(Spans("dropped_export_failed"), 1u);
}

TEST_F(ExporterTest, ShutdownFlushesQueue) {
  auto e = Make({.batch_size = 4});
  e->Export(Spans(10));
  e->Shutdown(std::chrono::seconds(5));
  EXPECT_EQ(Spans("exported"), 10u);
  EXPECT_EQ(net_.bodies.size(), 3u);
  e->Export(Spans(1));  // after shutdown: refused
  EXPECT_EQ(Spans("dropped_queue_full"), 1u);
}

TEST_F(ExporterTest, ThreadedExporterFlushesOnShutdown) {
  auto e = BatchSpanExporter::Create({.batch_delay = std::chrono::seconds(60)},
                                     std::make_unique<testing::FakeTransport>(&net_), {"orders"},
                                     registry_);
  ASSERT_TRUE(e.ok());
  (*e)->Export(Spans(7));
  (*e)->Shutdown(std::chrono::seconds(5));
  EXPECT_EQ(Spans("exported"), 7u);
}

// The thread sleeps untimed on an empty queue: the first span must wake it,
// or a partial batch would wait for the next full one (or shutdown).
TEST_F(ExporterTest, ThreadedExporterSendsPartialBatchAfterDelayWithoutShutdown) {
  auto e = BatchSpanExporter::Create({.batch_delay = milliseconds(10)},
                                     std::make_unique<testing::FakeTransport>(&net_), {"orders"},
                                     registry_);
  ASSERT_TRUE(e.ok());
  (*e)->Export(Spans(3));
  // Bounded wait on real time (the thread's delay is 10 ms); not a timing assertion.
  for (int i = 0; i < 500 && Spans("exported") < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(Spans("exported"), 3u);
  (*e)->Shutdown(std::chrono::seconds(5));
}

TEST_F(ExporterTest, RejectsBadOptions) {
  EXPECT_FALSE(BatchSpanExporter::Create({.max_queue = 10, .batch_size = 20},
                                         std::make_unique<testing::FakeTransport>(&net_),
                                         {"orders"}, registry_, {.manual = true})
                   .ok());
}

}  // namespace
}  // namespace keel::trace
