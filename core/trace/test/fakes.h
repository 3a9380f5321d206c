// Test doubles shared by the trace tests.
#pragma once

#include <deque>
#include <mutex>
#include <vector>

#include "keel/trace/otlp_transport.h"
#include "keel/trace/span_exporter.h"

namespace keel::trace::testing {

class RecordingExporter final : public SpanExporter {
 public:
  struct Shared {
    std::mutex mu;
    std::vector<std::vector<Span>> traces;
  };
  explicit RecordingExporter(Shared* shared) : shared_(shared) {}
  void Export(std::vector<Span> spans) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->traces.push_back(std::move(spans));
  }

 private:
  Shared* shared_;
};

// Answers each Post with the next scripted result (200 when the script is empty).
class FakeTransport final : public OtlpTransport {
 public:
  struct Shared {
    std::mutex mu;
    std::deque<OtlpResult> script;
    std::vector<std::string> bodies;
  };
  explicit FakeTransport(Shared* shared) : shared_(shared) {}
  OtlpResult Post(const std::string& body, Clock::duration) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->bodies.push_back(body);
    if (shared_->script.empty()) return OtlpResult{Status(), 200, std::nullopt};
    OtlpResult r = shared_->script.front();
    shared_->script.pop_front();
    return r;
  }

 private:
  Shared* shared_;
};

}  // namespace keel::trace::testing
