#include "keel/base/json_string.h"

#include <cstdio>

namespace keel {
namespace {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no
// overlongs, no surrogates, at most U+10FFFF), or 0 when it is not one.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) n = 3, lo = 0xa0;
  else if (c == 0xed) n = 3, hi = 0x9f;
  else if (c >= 0xe1 && c <= 0xef) n = 3;
  else if (c == 0xf0) n = 4, lo = 0x90;
  else if (c == 0xf4) n = 4, hi = 0x8f;
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else return 0;
  if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') out->append("\\\"");
    else if (c == '\\') out->append("\\\\");
    else if (c == '\n') out->append("\\n");
    else if (c == '\r') out->append("\\r");
    else if (c == '\t') out->append("\\t");
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else if (const std::size_t n = Utf8SequenceLength(s, i); n != 0) {
      out->append(s.substr(i, n));  // well-formed UTF-8 passes through
      i += n - 1;
    } else {
      // Bytes from the network may not be UTF-8: each stray byte becomes
      // U+FFFD, so the output is always valid JSON (and valid UTF-8).
      out->append("\\ufffd");
    }
  }
  out->push_back('"');
}

}  // namespace keel
