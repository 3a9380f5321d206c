// A blocking client of the Stripe-style payment provider for the inbox
// thread: each call runs on the provider's own event loop through the
// resilience pipeline, and the caller waits for its outcome.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "keel/base/status.h"
#include "keel/obs/metrics.h"
#include "keel/resilience/pipeline.h"

namespace keel::payments {

class Provider {
 public:
  struct Answer {
    int status = 0;       // the provider's HTTP status
    nlohmann::json body;  // its JSON body (null when not JSON)
  };
  static StatusOr<std::unique_ptr<Provider>> Create(std::string url, resilience::PipelineOptions pipeline,
                                                    obs::Registry& registry);
  ~Provider();
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  // POSTs `body` to `target` with an Idempotency-Key. Unavailable when the
  // provider did not answer (timeouts, resets, 5xx after the retries, the
  // breaker open); any answer otherwise, 4xx included.
  StatusOr<Answer> Post(const std::string& target, const nlohmann::json& body, const std::string& idempotency_key);

 private:
  struct Impl;
  explicit Provider(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::payments
