// Relay: forwards a request to its upstream through the resilience pipeline.
//
// One Relay serves every worker thread. Each worker gets its own HttpClient
// (connection pools are per event loop, shared-nothing), created on the
// worker's first request; the pipeline's policy state (breaker, retry
// budget, bulkhead, latency tracker) is shared by all of them.
//
// Thread-safety: Handle() runs on worker threads, concurrently.
#pragma once

#include <memory>
#include <string>

#include "keel/base/status.h"
#include "keel/base/units.h"
#include "keel/net/router.h"
#include "keel/obs/metrics.h"
#include "keel/resilience/admission_config.h"
#include "keel/resilience/latency_tracker.h"
#include "keel/resilience/load_shedder.h"
#include "keel/resilience/pipeline.h"

namespace keel::trace {
class Tracer;
}  // namespace keel::trace

namespace keel::relay {

struct RelayOptions {
  std::string upstream;          // HOST:PORT
  bool keep_alive = true;        // false: one upstream connection per attempt
  int max_connections = 64;      // per upstream, per worker
  trace::Tracer* tracer = nullptr;  // client spans; null: none
  // Admission control in front of the pipeline (503 + Retry-After).
  resilience::AdmissionOptions admission;
};

class Relay {
 public:
  // Errors: InvalidArgument for an empty upstream or invalid pipeline options.
  static StatusOr<std::unique_ptr<Relay>> Create(RelayOptions options,
                                                 resilience::PipelineOptions pipeline,
                                                 obs::Registry& registry);
  ~Relay();

  // The async handler of GET /relay/{path}.
  void Handle(const net::Request& req, net::Response& res, net::Responder responder);

  // Results, by the status the caller got.
  struct Metrics {
    obs::Histogram* ok = nullptr;          // upstream answered (any status it chose)
    obs::Histogram* rejected = nullptr;    // a policy refused: 503
    obs::Histogram* timeout = nullptr;     // deadline passed: 504
    obs::Histogram* failed = nullptr;      // upstream failed: 502
  };

 private:
  Relay(RelayOptions options, std::unique_ptr<resilience::LatencyTracker> latency,
        std::unique_ptr<resilience::Pipeline> pipeline,
        std::unique_ptr<resilience::LoadShedder> shedder, Metrics metrics, obs::Registry& registry);
  struct Call;

  const RelayOptions options_;
  // First attempts' latency: the hedge delay (declared before the pipeline,
  // whose hedge provider points at it).
  std::unique_ptr<resilience::LatencyTracker> latency_;
  std::unique_ptr<resilience::Pipeline> pipeline_;
  std::unique_ptr<resilience::LoadShedder> shedder_;  // null: admission off
  Metrics metrics_;
  obs::Registry& registry_;
};

}  // namespace keel::relay
