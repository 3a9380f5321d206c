#include "keel/load/slo.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

#include "keel/base/units.h"

namespace keel::load {
namespace {

std::string_view Trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") + 1 - first);
}

bool IsDecimal(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789.") == std::string_view::npos;
}

// A plain non-negative decimal ("0.99", "12.5"): no sign, exponent, nan or inf.
bool ParseDecimal(std::string_view s, double* value) {
  if (!IsDecimal(s)) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// "0.1%" -> 0.001, "0.001" -> 0.001. The percent form is read as "0.1e-2" so
// that it rounds to the same double as the fraction 1/1000 measured later.
bool ParseFraction(std::string_view s, double* value) {
  if (s.empty() || s.back() != '%') return ParseDecimal(s, value);
  const std::string_view number = s.substr(0, s.size() - 1);
  if (!IsDecimal(number)) return false;
  const std::string scaled = std::string(number) + "e-2";
  auto [ptr, ec] = std::from_chars(scaled.data(), scaled.data() + scaled.size(), *value);
  return ec == std::errc() && ptr == scaled.data() + scaled.size();
}

// One clause, e.g. "p99.9<20ms". The message is left to the caller.
bool ParseClause(std::string_view clause, Bound* bound) {
  const size_t op_at = clause.find_first_of("<>");
  if (op_at == std::string_view::npos) return false;
  const std::string_view quantity = Trim(clause.substr(0, op_at));
  const bool or_equal = op_at + 1 < clause.size() && clause[op_at + 1] == '=';
  const std::string_view value = Trim(clause.substr(op_at + (or_equal ? 2 : 1)));
  if (clause[op_at] == '<') {
    bound->op = or_equal ? Bound::Op::kLe : Bound::Op::kLt;
  } else {
    bound->op = or_equal ? Bound::Op::kGe : Bound::Op::kGt;
  }

  if (quantity == "errors" || quantity == "rate") {
    bound->kind = quantity == "errors" ? Bound::Kind::kErrors : Bound::Kind::kRate;
    if (!value.empty() && value.back() == '%') {
      bound->unit = "%";
      bound->unit_scale = 0.01;
    }
    if (!ParseFraction(value, &bound->limit)) return false;
    return bound->kind == Bound::Kind::kRate || bound->limit <= 1;
  }
  if (quantity == "max") {
    bound->kind = Bound::Kind::kMax;
  } else if (quantity.size() > 1 && quantity[0] == 'p' &&
             ParseDecimal(quantity.substr(1), &bound->percentile) && bound->percentile > 0 &&
             bound->percentile <= 100) {
    bound->kind = Bound::Kind::kPercentile;
  } else {
    return false;
  }
  StatusOr<Duration> limit = ParseDuration(value);
  if (!limit.ok()) return false;
  bound->limit = static_cast<double>(limit->count()) / 1000.0;  // ns -> us
  // ParseDuration accepted the text, so it is a number followed by its unit.
  bound->unit = std::string(value.substr(std::min(value.find_first_not_of("0123456789."), value.size())));
  static constexpr std::pair<std::string_view, double> kMicrosPerUnit[] = {
      {"ns", 1e-3}, {"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 6e7}, {"h", 3.6e9}};
  for (const auto& [name, scale] : kMicrosPerUnit) {
    if (bound->unit == name) bound->unit_scale = scale;
  }
  return true;
}

bool Compare(double measured, Bound::Op op, double limit) {
  switch (op) {
    case Bound::Op::kLt: return measured < limit;
    case Bound::Op::kLe: return measured <= limit;
    case Bound::Op::kGt: return measured > limit;
    case Bound::Op::kGe: return measured >= limit;
  }
  return false;
}

}  // namespace

StatusOr<std::vector<Bound>> ParseSlo(std::string_view text) {
  std::vector<Bound> bounds;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view clause = Trim(text.substr(start, comma - start));
    Bound bound;
    if (!ParseClause(clause, &bound)) {
      return InvalidArgument(
          "invalid SLO clause '" + std::string(clause) + "' in '" + std::string(text) +
          "' (expected e.g. p99<5ms, max<=1s, errors<0.1%, rate>=0.99; ops < <= > >=)");
    }
    bound.text = std::string(clause);
    bounds.push_back(std::move(bound));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bounds;
}

double Measure(const Bound& bound, const SloWindow& window) {
  switch (bound.kind) {
    case Bound::Kind::kPercentile:
      if (window.corrected == nullptr) return 0;
      return static_cast<double>(window.corrected->ValueAtPercentile(bound.percentile));
    case Bound::Kind::kMax:
      if (window.corrected == nullptr) return 0;
      return static_cast<double>(window.corrected->max());
    case Bound::Kind::kErrors: {
      const std::uint64_t total = window.completed + window.errors;
      if (total == 0) return 0;
      return static_cast<double>(window.errors) / static_cast<double>(total);
    }
    case Bound::Kind::kRate:
      if (window.requested_rate == 0) return 1.0;
      return window.achieved_rate / window.requested_rate;
  }
  return 0;
}

double InBoundUnit(const Bound& bound, double measured) { return measured / bound.unit_scale; }

bool Holds(const Bound& bound, const SloWindow& window) {
  if (bound.kind == Bound::Kind::kRate) {
    if (window.requested_rate == 0) return true;  // closed loop: no rate was asked for
  } else {
    if (window.completed + window.errors == 0) return true;  // nothing to judge
    const bool latency = bound.kind != Bound::Kind::kErrors;
    if (latency && window.corrected == nullptr) return true;
  }
  return Compare(Measure(bound, window), bound.op, bound.limit);
}

}  // namespace keel::load
