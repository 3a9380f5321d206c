#include "keel/trace/exporter.h"

#include <algorithm>

namespace keel::trace {
namespace {

bool Retryable(const OtlpResult& r) {
  if (!r.status.ok()) return true;
  return r.http_status == 429 || r.http_status == 502 || r.http_status == 503 ||
         r.http_status == 504;
}

}  // namespace

StatusOr<std::unique_ptr<BatchSpanExporter>> BatchSpanExporter::Create(
    ExporterOptions options, std::unique_ptr<OtlpTransport> transport, OtlpResource resource,
    obs::Registry& registry, ExporterSeams seams) {
  if (options.max_queue == 0 || options.batch_size == 0 || options.batch_size > options.max_queue) {
    return InvalidArgument("exporter: need 0 < batch_size <= max_queue");
  }
  if (options.max_attempts < 1) return InvalidArgument("exporter: max_attempts must be >= 1");
  if (!transport) return InvalidArgument("exporter: no transport");
  return std::unique_ptr<BatchSpanExporter>(new BatchSpanExporter(
      options, std::move(transport), std::move(resource), registry, std::move(seams)));
}

BatchSpanExporter::BatchSpanExporter(ExporterOptions options,
                                     std::unique_ptr<OtlpTransport> transport,
                                     OtlpResource resource, obs::Registry& registry,
                                     ExporterSeams seams)
    : options_(options), transport_(std::move(transport)), resource_(std::move(resource)),
      clock_(seams.clock ? seams.clock : &SystemClock::Default()), seams_(std::move(seams)),
      rng_(seams_.seed) {
  auto& spans = registry.AddCounter("keel_trace_spans_total",
                                    "Spans finished, by what became of them.", {"result"});
  exported_ = spans.Get({"exported"});
  dropped_full_ = spans.Get({"dropped_queue_full"});
  dropped_failed_ = spans.Get({"dropped_export_failed"});
  auto& reqs = registry.AddCounter("keel_trace_export_requests_total",
                                   "OTLP export POSTs, by result.", {"result"});
  req_ok_ = reqs.Get({"ok"});
  req_retryable_ = reqs.Get({"retryable"});
  req_failed_ = reqs.Get({"failed"});
  queue_gauge_ = registry.AddGauge("keel_trace_queue_spans", "Spans waiting to be exported.").Get({});
  if (!seams_.manual) thread_ = std::thread([this] { Run(); });
}

BatchSpanExporter::~BatchSpanExporter() { Shutdown(std::chrono::seconds(5)); }

void BatchSpanExporter::Export(std::vector<Span> spans) {
  std::size_t dropped = 0;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The thread sleeps untimed while the queue is empty: the first span
    // must wake it to start the batch_delay clock.
    const bool was_empty = queue_.empty();
    for (auto& s : spans) {
      if (stopping_ || queue_.size() >= options_.max_queue) {
        ++dropped;
        continue;
      }
      if (queue_.empty()) oldest_ = clock_->Now();
      queue_.push_back(std::move(s));
    }
    wake = queue_.size() >= options_.batch_size || (was_empty && !queue_.empty());
    queue_gauge_->Set(static_cast<double>(queue_.size()));
  }
  if (dropped > 0) dropped_full_->Inc(dropped);
  if (wake) cv_.notify_one();
}

bool BatchSpanExporter::DueLocked(Clock::time_point now) const {
  if (queue_.empty()) return false;
  return stopping_ || queue_.size() >= options_.batch_size || now - oldest_ >= options_.batch_delay;
}

std::vector<Span> BatchSpanExporter::TakeBatchLocked() {
  std::size_t n = std::min(queue_.size(), options_.batch_size);
  std::vector<Span> batch;
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  // The rest waited at most as long as the batch just taken; restarting their
  // clock errs towards fuller batches, never towards starving them.
  if (!queue_.empty()) oldest_ = clock_->Now();
  queue_gauge_->Set(static_cast<double>(queue_.size()));
  return batch;
}

std::size_t BatchSpanExporter::Pump() {
  std::vector<Span> batch;
  Clock::time_point give_up = Clock::time_point::max();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!DueLocked(clock_->Now())) return 0;
    batch = TakeBatchLocked();
    if (stopping_) give_up = shutdown_deadline_;
  }
  std::size_t n = batch.size();
  Send(std::move(batch), give_up);
  return n;
}

void BatchSpanExporter::Send(std::vector<Span> batch, Clock::time_point give_up) {
  const std::string body = EncodeOtlpJson(batch, resource_);
  Clock::duration backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    Clock::duration timeout = options_.export_timeout;
    if (give_up != Clock::time_point::max()) {
      timeout = std::min(timeout, give_up - clock_->Now());
      if (timeout <= Clock::duration::zero()) break;
    }
    OtlpResult r = transport_->Post(body, timeout);
    if (r.status.ok() && r.http_status >= 200 && r.http_status < 300) {
      req_ok_->Inc();
      exported_->Inc(batch.size());
      return;
    }
    if (!Retryable(r)) {
      req_failed_->Inc();
      break;
    }
    req_retryable_->Inc();
    if (attempt >= options_.max_attempts) break;
    // Full jitter (uniform in [0, backoff]) spreads the retries of many
    // processes hit by one collector outage; Retry-After overrides it.
    Clock::duration wait = r.retry_after
                               ? std::min(*r.retry_after, options_.max_backoff)
                               : Clock::duration(rng_.Uniform(0, backoff.count()));
    backoff = std::min(backoff * 2, options_.max_backoff);
    if (give_up != Clock::time_point::max() && clock_->Now() + wait >= give_up) break;
    Wait(wait);
  }
  dropped_failed_->Inc(batch.size());
}

void BatchSpanExporter::Wait(Clock::duration d) {
  if (seams_.sleep) {
    seams_.sleep(d);
    return;
  }
  // Interruptible by Shutdown so a backoff never outlives the deadline.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_; });
}

void BatchSpanExporter::Run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (!DueLocked(clock_->Now())) {
        if (stopping_ && queue_.empty()) return;
        if (queue_.empty()) {
          cv_.wait(lock);
        } else {
          cv_.wait_for(lock, options_.batch_delay - (clock_->Now() - oldest_));
        }
      }
    }
    Pump();
  }
}

void BatchSpanExporter::Shutdown(Clock::duration deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    shutdown_deadline_ = clock_->Now() + deadline;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    while (Pump() > 0) {
    }
  }
  // Past the deadline: whatever is left is dropped.
  std::lock_guard<std::mutex> lock(mu_);
  if (!queue_.empty()) {
    dropped_failed_->Inc(queue_.size());
    queue_.clear();
    queue_gauge_->Set(0);
  }
}

std::size_t BatchSpanExporter::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace keel::trace
