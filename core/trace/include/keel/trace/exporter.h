// BatchSpanExporter: queues the spans of kept traces and sends them to an
// OTLP collector in batches from one background thread.
//
// - The queue holds at most max_queue spans; spans that do not fit are
//   dropped and counted (tracing must never slow or block a request).
// - A batch of up to batch_size spans is sent when that many are queued or
//   when the oldest queued span has waited batch_delay. OpenTelemetry's
//   BatchSpanProcessor defaults to 2048 / 512 / 5 s; Keel waits 1 s so that a
//   trace shows up while the operator is still looking at the failing
//   request, at a cost of at most one small POST per second per process.
// - A retryable result (network error, HTTP 429/502/503/504) is retried with
//   exponential backoff and full jitter, honouring Retry-After, up to
//   max_attempts tries; then the batch is dropped and counted. Other HTTP
//   errors drop the batch at once.
// - Shutdown() sends what is queued, giving up at its deadline.
//
// Metrics: keel_trace_spans_total{result="exported"|"dropped_queue_full"|
// "dropped_export_failed"}, keel_trace_export_requests_total{result="ok"|
// "retryable"|"failed"} (one per POST), gauge keel_trace_queue_spans.
//
//   auto exporter = BatchSpanExporter::Create({}, std::move(transport), {"orders"}, registry);
//
// Thread-safety: Export() is thread-safe and never blocks on the network.
// With seams.manual the exporter starts no thread: the test calls Pump().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "keel/base/clock.h"
#include "keel/base/rng.h"
#include "keel/base/status.h"
#include "keel/obs/metrics.h"
#include "keel/trace/otlp_json.h"
#include "keel/trace/otlp_transport.h"
#include "keel/trace/span_exporter.h"

namespace keel::trace {

struct ExporterOptions {
  std::size_t max_queue = 2048;
  std::size_t batch_size = 512;
  Clock::duration batch_delay = std::chrono::seconds(1);
  int max_attempts = 3;
  Clock::duration initial_backoff = std::chrono::milliseconds(100);
  Clock::duration max_backoff = std::chrono::seconds(5);
  Clock::duration export_timeout = std::chrono::seconds(10);
};

struct ExporterSeams {
  const Clock* clock = nullptr;  // nullptr: SystemClock::Default()
  // Backoff waits; nullptr: an interruptible wait on the exporter's thread.
  std::function<void(Clock::duration)> sleep;
  std::uint64_t seed = 1;  // backoff jitter
  bool manual = false;     // no thread; the caller drives Pump()
};

class BatchSpanExporter final : public SpanExporter {
 public:
  // Errors: InvalidArgument for zero sizes, batch_size > max_queue or
  // max_attempts < 1. `registry` must outlive the exporter.
  static StatusOr<std::unique_ptr<BatchSpanExporter>> Create(
      ExporterOptions options, std::unique_ptr<OtlpTransport> transport, OtlpResource resource,
      obs::Registry& registry, ExporterSeams seams = {});
  // Shuts down with a 5 s deadline if Shutdown() was not called.
  ~BatchSpanExporter() override;

  void Export(std::vector<Span> spans) override;
  // Manual mode: sends one batch if one is due (full, or its oldest span has
  // waited batch_delay on the clock). Returns the spans sent or dropped.
  std::size_t Pump();
  // Stops accepting spans, sends the queue until empty or `deadline` from now
  // passes (the rest are dropped and counted), joins the thread. Idempotent.
  void Shutdown(Clock::duration deadline);

  std::size_t queued() const;

 private:
  BatchSpanExporter(ExporterOptions options, std::unique_ptr<OtlpTransport> transport,
                    OtlpResource resource, obs::Registry& registry, ExporterSeams seams);
  bool DueLocked(Clock::time_point now) const;
  std::vector<Span> TakeBatchLocked();
  void Send(std::vector<Span> batch, Clock::time_point give_up);
  void Wait(Clock::duration d);
  void Run();

  const ExporterOptions options_;
  const std::unique_ptr<OtlpTransport> transport_;
  const OtlpResource resource_;
  const Clock* clock_;
  ExporterSeams seams_;
  Rng rng_;  // exporter thread only
  obs::Counter* exported_;
  obs::Counter* dropped_full_;
  obs::Counter* dropped_failed_;
  obs::Counter* req_ok_;
  obs::Counter* req_retryable_;
  obs::Counter* req_failed_;
  obs::Gauge* queue_gauge_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Span> queue_;                 // GUARDED_BY(mu_)
  Clock::time_point oldest_{};             // GUARDED_BY(mu_), enqueue time of queue_.front()
  bool stopping_ = false;                  // GUARDED_BY(mu_)
  Clock::time_point shutdown_deadline_{};  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace keel::trace
