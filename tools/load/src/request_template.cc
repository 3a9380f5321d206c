#include "keel/load/request_template.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <system_error>
#include <utility>
#include <variant>

namespace keel::load {
namespace {

// log1p(x) / x, continued to x = 0 (Commons RNG's helper1).
double Log1pOverX(double x) {
  if (std::fabs(x) > 1e-8) return std::log1p(x) / x;
  return 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

// expm1(x) / x, continued to x = 0 (Commons RNG's helper2).
double Expm1OverX(double x) {
  if (std::fabs(x) > 1e-8) return std::expm1(x) / x;
  return 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

// The unnormalised Zipf mass x^-s.
double ZipfMass(double x, double s) { return std::exp(-s * std::log(x)); }

template <typename T>
bool ParseNumber(std::string_view text, T* value) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

template <typename T>
void AppendNumber(T value, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, end);
}

void AppendUuid(Rng& rng, std::string* out) {
  // Version 4 in the 13th hex digit, variant 10xx in the 17th (RFC 4122 4.4).
  const std::uint64_t hi = (rng.Next() & ~0xf000ULL) | 0x4000ULL;
  const std::uint64_t lo = (rng.Next() & ~(3ULL << 62)) | (1ULL << 63);
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[36];
  size_t n = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) buf[n++] = '-';
    const std::uint64_t word = i < 16 ? hi : lo;
    buf[n++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xf];
  }
  out->append(buf, n);
}

bool IsTokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

}  // namespace

// Rejection-inversion after Apache Commons RNG's RejectionInversionZipfSampler:
// H integrates the continuous hat x^-s; sampling inverts H at a uniform point
// and accepts the rounded key unless it falls in the sliver where the hat
// exceeds the true mass. H and its inverse are written with log1p/expm1 so
// that s = 1 (where H is log x) and s near 1 need no special case.
ZipfSampler::ZipfSampler(double s, std::uint64_t n)
    : s_(s),
      n_(n),
      h_integral_x1_(H(1.5) - 1),
      h_integral_n_(H(static_cast<double>(n) + 0.5)),
      s_threshold_(2 - HInverse(H(2.5) - ZipfMass(2, s))) {}

StatusOr<ZipfSampler> ZipfSampler::Create(double s, std::uint64_t n) {
  if (!std::isfinite(s) || s <= 0) {
    return InvalidArgument("zipf exponent must be a finite number > 0");
  }
  if (n < 1) return InvalidArgument("zipf key count must be >= 1");
  return ZipfSampler(s, n);
}

double ZipfSampler::H(double x) const {
  const double log_x = std::log(x);
  return Expm1OverX((1 - s_) * log_x) * log_x;
}

double ZipfSampler::HInverse(double x) const {
  // Rounding can push t just below -1, where log1p is undefined.
  const double t = std::max(-1.0, x * (1 - s_));
  return std::exp(Log1pOverX(t) * x);
}

std::uint64_t ZipfSampler::Sample(Rng& rng) const {
  const double max_key = static_cast<double>(n_);
  while (true) {
    const double u = h_integral_n_ + rng.NextDouble() * (h_integral_x1_ - h_integral_n_);
    const double x = HInverse(u);
    const double k = std::clamp(std::floor(x + 0.5), 1.0, max_key);
    if (k - x <= s_threshold_ || u >= H(k + 0.5) - ZipfMass(k, s_)) {
      return k >= max_key ? n_ : static_cast<std::uint64_t>(k);
    }
  }
}

namespace {

struct SeqPart {};
struct UuidPart {};
struct RandPart {
  std::int64_t lo, hi;
};
using PartValue = std::variant<std::string, SeqPart, RandPart, ZipfSampler, UuidPart>;

// Parses the inside of one "{{...}}"; `whole` is the placeholder as written,
// for messages.
StatusOr<PartValue> ParsePlaceholder(std::string_view body, std::string_view whole) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t colon = body.find(':', start);
    fields.push_back(body.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  const std::string_view name = fields[0];
  auto error = [&](std::string_view why) {
    return InvalidArgument(std::string(whole) + ": " + std::string(why));
  };
  if (name == "seq" || name == "uuid") {
    if (fields.size() != 1) return error("takes no arguments");
    if (name == "seq") return PartValue(SeqPart{});
    return PartValue(UuidPart{});
  }
  if (name == "rand") {
    RandPart r{};
    if (fields.size() != 3 || !ParseNumber(fields[1], &r.lo) || !ParseNumber(fields[2], &r.hi)) {
      return error("expected {{rand:LO:HI}} with integers LO <= HI");
    }
    if (r.lo > r.hi) return error("LO must be <= HI");
    return PartValue(r);
  }
  if (name == "zipf") {
    double s = 0;
    std::uint64_t n = 0;
    if (fields.size() != 3 || !ParseNumber(fields[1], &s) || !ParseNumber(fields[2], &n)) {
      return error("expected {{zipf:S:N}} with exponent S > 0 and key count N >= 1");
    }
    StatusOr<ZipfSampler> zipf = ZipfSampler::Create(s, n);
    if (!zipf.ok()) return error(zipf.status().message());
    return PartValue(*zipf);
  }
  return error("unknown placeholder (expected seq, rand:LO:HI, zipf:S:N or uuid)");
}

}  // namespace

struct Template::Part {
  PartValue value;
};

StatusOr<Template> Template::Parse(std::string_view text) {
  Template t;
  t.source_ = std::string(text);
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    t.parts_.push_back(std::make_shared<const Part>(Part{std::move(literal)}));
    literal.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      literal.append(text.substr(pos));
      break;
    }
    literal.append(text.substr(pos, open - pos));
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return InvalidArgument(std::string(text.substr(open)) +
                             ": unterminated placeholder (missing '}}')");
    }
    StatusOr<PartValue> part = ParsePlaceholder(text.substr(open + 2, close - open - 2),
                                                text.substr(open, close + 2 - open));
    if (!part.ok()) return part.status();
    flush_literal();
    t.parts_.push_back(std::make_shared<const Part>(Part{std::move(*part)}));
    pos = close + 2;
  }
  flush_literal();
  return t;
}

void Template::Render(const TemplateContext& ctx, std::string* out) const {
  for (const auto& part : parts_) {
    const auto& v = part->value;
    if (const auto* text = std::get_if<std::string>(&v)) {
      out->append(*text);
    } else if (std::holds_alternative<SeqPart>(v)) {
      AppendNumber(ctx.seq, out);
    } else if (const auto* rand = std::get_if<RandPart>(&v)) {
      AppendNumber(ctx.rng->Uniform(rand->lo, rand->hi), out);
    } else if (const auto* zipf = std::get_if<ZipfSampler>(&v)) {
      AppendNumber(zipf->Sample(*ctx.rng), out);
    } else {
      AppendUuid(*ctx.rng, out);
    }
  }
}

bool Template::is_static() const {
  return std::all_of(parts_.begin(), parts_.end(), [](const auto& part) {
    return std::holds_alternative<std::string>(part->value);
  });
}

StatusOr<std::vector<RequestSpec>> LoadRequestFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read request file '" + path + "'");
  std::vector<RequestSpec> specs;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto error = [&](const std::string& why) {
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": " + why);
    };
    const std::string_view text = line;
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos || text[first] == '#') continue;
    const size_t method_end = std::min(text.find_first_of(" \t", first), text.size());
    const size_t target_start = std::min(text.find_first_not_of(" \t", method_end), text.size());
    const size_t target_end = std::min(text.find_first_of(" \t", target_start), text.size());
    const size_t body_start = std::min(text.find_first_not_of(" \t", target_end), text.size());
    const std::string_view method = text.substr(first, method_end - first);
    const std::string_view target = text.substr(target_start, target_end - target_start);
    if (target.empty()) return error("expected 'METHOD TARGET [BODY]', got '" + line + "'");
    if (!std::all_of(method.begin(), method.end(), IsTokenChar)) {
      return error("invalid method '" + std::string(method) + "'");
    }
    if (target.front() != '/') {
      return error("target '" + std::string(target) + "' must be a path starting with '/'");
    }
    RequestSpec spec;
    spec.method = std::string(method);
    StatusOr<Template> target_template = Template::Parse(target);
    if (!target_template.ok()) return error(target_template.status().message());
    spec.target = std::move(*target_template);
    StatusOr<Template> body = Template::Parse(text.substr(body_start));
    if (!body.ok()) return error(body.status().message());
    spec.body = std::move(*body);
    specs.push_back(std::move(spec));
  }
  if (in.bad()) return Unavailable("error reading request file '" + path + "'");
  if (specs.empty()) return InvalidArgument("request file '" + path + "' has no requests");
  return specs;
}

}  // namespace keel::load
