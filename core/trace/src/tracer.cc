#include "keel/trace/tracer.h"

#include <array>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "keel/base/rng.h"

namespace keel::trace {
namespace {

// Sharded by trace id so that the workers ending spans of different traces
// rarely meet on one mutex; each critical section is a hash lookup plus a
// vector push (or extracting one trace), never an export or an allocation
// larger than one span's move.
constexpr std::size_t kShards = 16;

struct TraceIdHash {
  std::size_t operator()(const std::array<std::uint8_t, 16>& id) const {
    std::uint64_t h = 0;
    for (int i = 0; i < 8; ++i) h = h << 8 | id[static_cast<std::size_t>(i)];
    return static_cast<std::size_t>(h);
  }
};

struct PendingTrace {
  std::array<std::uint8_t, 8> root_span_id{};
  bool error = false;
  std::vector<Span> spans;  // ended spans, the root last
};

struct Shard {
  std::mutex mu;
  std::unordered_map<std::array<std::uint8_t, 16>, PendingTrace, TraceIdHash>
      traces;  // GUARDED_BY(mu)
};

std::size_t ShardOf(const std::array<std::uint8_t, 16>& id) { return id[15] % kShards; }

}  // namespace

struct Tracer::Impl {
  std::unique_ptr<SpanExporter> exporter;
  const Clock* clock;
  const WallClock* wall;
  std::size_t max_per_shard;
  obs::Counter* dropped_unsampled;
  obs::Counter* dropped_limit;
  std::array<Shard, kShards> shards;
  // One generator for the head draw, taken only at root start: a draw is a
  // few nanoseconds, and one stream keeps a seeded test's decisions
  // independent of which shard a (random) trace id lands in.
  std::mutex rng_mu;
  Rng rng;  // GUARDED_BY(rng_mu)

  Impl(std::uint64_t seed) : rng(seed) {}
};

StatusOr<std::unique_ptr<Tracer>> Tracer::Create(TracerOptions options,
                                                 std::unique_ptr<SpanExporter> exporter,
                                                 obs::Registry& registry, TracerSeams seams) {
  if (options.service_name.empty()) return InvalidArgument("tracer: empty service name");
  if (!(options.sample_ratio >= 0 && options.sample_ratio <= 1)) {
    return InvalidArgument("tracer: sample_ratio must be in [0, 1]");
  }
  if (options.max_pending_traces == 0 || options.max_spans_per_trace == 0) {
    return InvalidArgument("tracer: max_pending_traces and max_spans_per_trace must be > 0");
  }
  if (!exporter) return InvalidArgument("tracer: no exporter");
  return std::unique_ptr<Tracer>(
      new Tracer(std::move(options), std::move(exporter), registry, seams));
}

Tracer::Tracer(TracerOptions options, std::unique_ptr<SpanExporter> exporter,
               obs::Registry& registry, TracerSeams seams)
    : options_(std::move(options)),
      impl_(std::make_unique<Impl>(seams.seed != 0 ? seams.seed
                                                   : (std::uint64_t{std::random_device{}()} << 32 |
                                                      std::random_device{}()))) {
  impl_->exporter = std::move(exporter);
  impl_->clock = seams.clock ? seams.clock : &SystemClock::Default();
  impl_->wall = seams.wall ? seams.wall : &SystemWallClock::Default();
  impl_->max_per_shard = (options_.max_pending_traces + kShards - 1) / kShards;
  auto& spans = registry.AddCounter("keel_trace_spans_total",
                                    "Spans finished, by what became of them.", {"result"});
  impl_->dropped_unsampled = spans.Get({"dropped_unsampled"});
  impl_->dropped_limit = spans.Get({"dropped_limit"});
}

Tracer::~Tracer() = default;

Span Tracer::StartServerSpan(std::string_view name, std::string_view traceparent,
                             std::string_view tracestate) {
  auto incoming = traceparent.empty() ? std::nullopt : obs::TraceContext::Parse(traceparent);
  obs::TraceContext ctx = obs::TraceContext::ContinueOrStart(incoming ? traceparent : "");
  bool parent_sampled = incoming && (incoming->flags & 1);
  std::string state;
  if (incoming && obs::ValidTraceState(tracestate)) state = std::string(tracestate);
  return Start(ctx, parent_sampled, name, SpanKind::kServer, std::move(state));
}

Span Tracer::StartClientSpan(const obs::TraceContext& parent, std::string_view name) {
  return StartChild(parent, name, SpanKind::kClient);
}

Span Tracer::StartInternalSpan(const obs::TraceContext& parent, std::string_view name) {
  return StartChild(parent, name, SpanKind::kInternal);
}

Span Tracer::StartChild(const obs::TraceContext& parent, std::string_view name, SpanKind kind) {
  // Round-tripping through the header reuses TraceContext's id generation: a
  // new span id whose parent is `parent`'s span, or a new trace when invalid.
  auto header = parent.ToHeader();
  obs::TraceContext ctx = obs::TraceContext::ContinueOrStart(
      std::string_view(header.data(), obs::TraceContext::kHeaderSize));
  return Start(ctx, (parent.flags & 1) != 0, name, kind, {});
}

Span Tracer::Start(obs::TraceContext ctx, bool parent_sampled, std::string_view name,
                   SpanKind kind, std::string tracestate) {
  Span span;
  span.name = std::string(name);
  span.kind = kind;
  span.tracestate = std::move(tracestate);
  span.start_mono = impl_->clock->Now();
  span.start_unix_nanos = impl_->wall->NowUnixNanos();
  Shard& shard = impl_->shards[ShardOf(ctx.trace_id)];
  bool is_root = false;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.traces.find(ctx.trace_id);
    if (it == shard.traces.end()) {
      is_root = true;
      if (shard.traces.size() < impl_->max_per_shard) {
        shard.traces.emplace(ctx.trace_id, PendingTrace{ctx.span_id, false, {}});
      }
    }
  }
  if (is_root) {
    span.local_root = true;
    bool drawn;
    {
      std::lock_guard<std::mutex> lock(impl_->rng_mu);
      drawn = impl_->rng.NextDouble() < options_.sample_ratio;
    }
    ctx.flags = static_cast<std::uint8_t>((ctx.flags & ~1) | ((parent_sampled || drawn) ? 1 : 0));
  }
  span.ctx = ctx;
  return span;
}

void Tracer::End(Span span) {
  span.end_unix_nanos =
      span.start_unix_nanos + (impl_->clock->Now() - span.start_mono).count();
  Shard& shard = impl_->shards[ShardOf(span.ctx.trace_id)];
  std::vector<Span> decided;
  bool error = span.status == SpanStatus::kError;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.traces.find(span.ctx.trace_id);
    if (it != shard.traces.end()) {
      PendingTrace& t = it->second;
      if (t.root_span_id != span.ctx.span_id) {
        if (t.spans.size() + 1 >= options_.max_spans_per_trace) {  // one slot kept for the root
          impl_->dropped_limit->Inc();
        } else {
          t.error |= error;
          t.spans.push_back(std::move(span));
        }
        return;
      }
      error |= t.error;
      decided = std::move(t.spans);
      shard.traces.erase(it);
    }
  }
  // Here: a local root (buffered or not) or a child whose trace was decided.
  bool keep;
  if (span.local_root) {
    bool slow = span.end_unix_nanos - span.start_unix_nanos >=
                std::chrono::duration_cast<std::chrono::nanoseconds>(options_.slow_threshold)
                    .count();
    keep = span.sampled() || error || slow;
  } else {
    keep = span.sampled();
  }
  decided.push_back(std::move(span));
  Decide(std::move(decided), keep);
}

void Tracer::Decide(std::vector<Span> spans, bool keep) {
  if (keep) {
    impl_->exporter->Export(std::move(spans));
  } else {
    impl_->dropped_unsampled->Inc(spans.size());
  }
}

std::size_t Tracer::pending_traces() const {
  std::size_t n = 0;
  for (auto& shard : impl_->shards) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.traces.size();
  }
  return n;
}

}  // namespace keel::trace
