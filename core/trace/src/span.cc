#include "keel/trace/span.h"

namespace keel::trace {
namespace {

template <typename V>
void Set(std::vector<Attribute>* attrs, std::string_view key, V v) {
  // A later value for a key replaces the earlier one, as in OpenTelemetry.
  for (auto& a : *attrs) {
    if (a.key == key) {
      a.value = std::move(v);
      return;
    }
  }
  attrs->push_back(Attribute{std::string(key), std::move(v)});
}

}  // namespace

void Span::SetAttribute(std::string_view key, std::string_view v) {
  Set(&attributes, key, std::string(v));
}
void Span::SetAttribute(std::string_view key, std::int64_t v) { Set(&attributes, key, v); }
void Span::SetAttribute(std::string_view key, double v) { Set(&attributes, key, v); }
void Span::SetAttribute(std::string_view key, bool v) { Set(&attributes, key, v); }

void Span::SetStatus(SpanStatus s, std::string_view message) {
  status = s;
  status_message = s == SpanStatus::kError ? std::string(message) : std::string();
}

}  // namespace keel::trace
