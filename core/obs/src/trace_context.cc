#include "keel/obs/trace_context.h"

#include <random>

#include "keel/base/rng.h"

namespace keel::obs {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // the spec allows lower-case hex only
}

template <std::size_t N>
bool ParseHex(std::string_view text, std::array<std::uint8_t, N>* out) {
  if (text.size() != 2 * N) return false;
  bool nonzero = false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = HexValue(text[2 * i]);
    int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    nonzero |= (*out)[i] != 0;
  }
  return nonzero;
}

template <std::size_t N>
char* WriteHex(const std::array<std::uint8_t, N>& bytes, char* p) {
  for (auto b : bytes) {
    *p++ = kHex[b >> 4];
    *p++ = kHex[b & 15];
  }
  return p;
}

template <std::size_t N>
void FillRandom(std::array<std::uint8_t, N>* out) {
  // Ids need uniqueness, not secrecy: a per-thread generator seeded once.
  thread_local Rng gen((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
  for (std::size_t i = 0; i < N; i += 8) {
    std::uint64_t v = gen.Next() | 1;  // never all zero
    for (std::size_t j = 0; j < 8 && i + j < N; ++j) (*out)[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
  }
}

}  // namespace

std::optional<TraceContext> TraceContext::Parse(std::string_view h) {
  if (h.size() < kHeaderSize) return std::nullopt;
  int v_hi = HexValue(h[0]), v_lo = HexValue(h[1]);
  if (v_hi < 0 || v_lo < 0 || (v_hi == 15 && v_lo == 15)) return std::nullopt;
  // Version 00 is exactly 55 characters; later versions may append "-...".
  if (h.substr(0, 2) == "00" ? h.size() != kHeaderSize : (h.size() > kHeaderSize && h[kHeaderSize] != '-')) {
    return std::nullopt;
  }
  if (h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  TraceContext ctx;
  if (!ParseHex(h.substr(3, 32), &ctx.trace_id)) return std::nullopt;
  if (!ParseHex(h.substr(36, 16), &ctx.parent_span_id)) return std::nullopt;
  int f_hi = HexValue(h[53]), f_lo = HexValue(h[54]);
  if (f_hi < 0 || f_lo < 0) return std::nullopt;
  ctx.flags = static_cast<std::uint8_t>(f_hi << 4 | f_lo);
  return ctx;
}

TraceContext TraceContext::ContinueOrStart(std::string_view header) {
  TraceContext ctx;
  if (auto parsed = header.empty() ? std::nullopt : Parse(header)) {
    ctx = *parsed;
  } else {
    FillRandom(&ctx.trace_id);
    ctx.parent_span_id = {};
    ctx.flags = 0;
  }
  FillRandom(&ctx.span_id);
  return ctx;
}

bool TraceContext::has_parent() const {
  for (auto b : parent_span_id) {
    if (b != 0) return true;
  }
  return false;
}

TraceContext::HeaderBuf TraceContext::ToHeader() const {
  HeaderBuf buf;
  char* p = buf.data();
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  p = WriteHex(trace_id, p);
  *p++ = '-';
  p = WriteHex(span_id, p);
  *p++ = '-';
  *p++ = kHex[flags >> 4];
  *p++ = kHex[flags & 15];
  return buf;
}

std::array<char, 32> TraceContext::TraceIdHex() const {
  std::array<char, 32> out;
  WriteHex(trace_id, out.data());
  return out;
}

std::array<char, 16> TraceContext::SpanIdHex() const {
  std::array<char, 16> out;
  WriteHex(span_id, out.data());
  return out;
}

}  // namespace keel::obs

namespace keel::obs {
namespace {

thread_local const TraceContext* t_current = nullptr;

bool KeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/';
}

bool FirstKeyChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// key = simple-key / multi-tenant-key (tenant@system), per W3C Trace Context.
bool ValidKey(std::string_view key) {
  auto at = key.find('@');
  if (at == std::string_view::npos) {
    if (key.empty() || key.size() > 256 || !(key[0] >= 'a' && key[0] <= 'z')) return false;
  } else {
    std::string_view tenant = key.substr(0, at), system = key.substr(at + 1);
    if (tenant.empty() || tenant.size() > 241 || !FirstKeyChar(tenant[0])) return false;
    if (system.empty() || system.size() > 14 || !(system[0] >= 'a' && system[0] <= 'z')) {
      return false;
    }
  }
  for (char c : key) {
    if (c != '@' && !KeyChar(c)) return false;
  }
  return key.find('@') == key.rfind('@');
}

bool ValidValue(std::string_view v) {
  if (v.empty() || v.size() > 256 || v.back() == ' ') return false;
  for (char c : v) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool ValidTraceState(std::string_view ts) {
  if (ts.size() > 512) return false;
  int members = 0;
  while (true) {
    auto comma = ts.find(',');
    std::string_view member = TrimOws(ts.substr(0, comma));
    if (!member.empty()) {
      auto eq = member.find('=');
      if (eq == std::string_view::npos || !ValidKey(member.substr(0, eq)) ||
          !ValidValue(member.substr(eq + 1)) || ++members > 32) {
        return false;
      }
    }
    if (comma == std::string_view::npos) break;
    ts.remove_prefix(comma + 1);
  }
  return true;
}

const TraceContext* CurrentTraceContext() { return t_current; }

ScopedTraceContext::ScopedTraceContext(const TraceContext& ctx)
    : ctx_(ctx), previous_(t_current) {
  t_current = &ctx_;
}

ScopedTraceContext::~ScopedTraceContext() { t_current = previous_; }

}  // namespace keel::obs
