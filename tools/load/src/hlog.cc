#include "keel/load/hlog.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <utility>

namespace keel::load {
namespace {

// HdrHistogram writes the cookie base with 0x10 in the word-size nibble (the
// "TLZE" flag of the V2 format); readers compare only cookie & ~0xf0.
constexpr std::uint32_t kV2EncodingCookieBase = 0x1c849303;
constexpr std::uint32_t kV2CompressedEncodingCookieBase = 0x1c849304;
constexpr std::uint32_t kWordSizeFlag = 0x10;
constexpr std::size_t kV2HeaderSize = 40;
// No V2 histogram we accept inflates beyond this (counts_len * 9 bytes for
// the widest layout is far smaller); it bounds what a hostile input can cost.
constexpr std::size_t kMaxUncompressedSize = std::size_t{64} << 20;
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void PutBigEndian(std::vector<unsigned char>& out, std::uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<unsigned char>(v >> shift));
  }
}

std::uint64_t GetBigEndian(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// HdrHistogram's ZigZagEncoding.putLong: LEB128 for the first 8 bytes (7 bits
// each), and a 9th byte that carries the remaining 8 bits without a
// continuation flag, so 64-bit values never take 10 bytes.
void PutZigZag(std::vector<unsigned char>& out, std::int64_t value) {
  std::uint64_t v =
      (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if (v >> 7 == 0) {
      out.push_back(static_cast<unsigned char>(v));
      return;
    }
    out.push_back(static_cast<unsigned char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<unsigned char>(v));
}

// Returns false when the input ends inside a varint.
bool GetZigZag(const unsigned char*& p, const unsigned char* end, std::int64_t& value) {
  std::uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (p == end) return false;
    const unsigned char b = *p++;
    if (i == 8) {
      v |= std::uint64_t{b} << 56;
      break;
    }
    v |= std::uint64_t{b & 0x7fu} << (7 * i);
    if ((b & 0x80) == 0) break;
  }
  value = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  return true;
}

std::string Base64Encode(const std::vector<unsigned char>& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t n =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kBase64Alphabet[(n >> shift) & 0x3f];
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t n = std::uint32_t{in[i]} << 16;
    if (rest == 2) n |= std::uint32_t{in[i + 1]} << 8;
    out += kBase64Alphabet[(n >> 18) & 0x3f];
    out += kBase64Alphabet[(n >> 12) & 0x3f];
    out += rest == 2 ? kBase64Alphabet[(n >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

StatusOr<std::vector<unsigned char>> Base64Decode(const std::string& text) {
  std::array<int, 256> table;
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kBase64Alphabet[i])] = i;
  if (text.size() % 4 != 0) return InvalidArgument("base64 length is not a multiple of 4");
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  const std::size_t digits = text.size() - padding;
  std::vector<unsigned char> out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t n = 0;
  int bits = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const int d = table[static_cast<unsigned char>(text[i])];
    if (d < 0) return InvalidArgument("invalid base64 character");
    n = (n << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>(n >> bits));
    }
  }
  return out;
}

StatusOr<std::vector<unsigned char>> Inflate(const unsigned char* data, std::size_t len) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Internal("inflateInit failed");
  zs.next_in = const_cast<Bytef*>(data);  // zlib's API is not const-correct
  zs.avail_in = static_cast<uInt>(len);
  std::vector<unsigned char> out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (out.size() >= kMaxUncompressedSize) break;
    const std::size_t old_size = out.size();
    out.resize(old_size + 16384);
    zs.next_out = out.data() + old_size;
    zs.avail_out = 16384;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(old_size + (16384 - zs.avail_out));
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated input
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return InvalidArgument("corrupt or truncated zlib data");
  return out;
}

StatusOr<obs::LatencyHistogram> DecodeV2(const std::vector<unsigned char>& in) {
  if (in.size() < kV2HeaderSize) return InvalidArgument("V2 histogram header is truncated");
  const auto cookie = static_cast<std::uint32_t>(GetBigEndian(in.data(), 4));
  if ((cookie & ~0xf0u) != kV2EncodingCookieBase) {
    return InvalidArgument("not a V2 HdrHistogram encoding (bad cookie)");
  }
  const auto payload_len = static_cast<std::int32_t>(GetBigEndian(in.data() + 4, 4));
  const auto normalizing_offset = static_cast<std::int32_t>(GetBigEndian(in.data() + 8, 4));
  const auto sigfigs = static_cast<std::int32_t>(GetBigEndian(in.data() + 12, 4));
  const auto lowest = static_cast<std::int64_t>(GetBigEndian(in.data() + 16, 8));
  const auto highest = static_cast<std::int64_t>(GetBigEndian(in.data() + 24, 8));
  if (payload_len < 0 || static_cast<std::size_t>(payload_len) > in.size() - kV2HeaderSize) {
    return InvalidArgument("V2 payload length exceeds the data");
  }
  if (normalizing_offset != 0) {
    return InvalidArgument("normalizing index offsets are not supported");
  }
  StatusOr<obs::LatencyHistogram> created = obs::LatencyHistogram::Create(lowest, highest, sigfigs);
  if (!created.ok()) return created.status();
  obs::LatencyHistogram h = std::move(created).value();

  const unsigned char* p = in.data() + kV2HeaderSize;
  const unsigned char* end = p + payload_len;
  std::int64_t index = 0;
  while (p != end) {
    std::int64_t count = 0;
    if (!GetZigZag(p, end, count)) return InvalidArgument("V2 payload ends inside a count");
    if (count < 0) {
      if (count == std::numeric_limits<std::int64_t>::min() || -count > h.counts_len() - index) {
        return InvalidArgument("V2 zero run extends past the counts array");
      }
      index -= count;
      continue;
    }
    if (index >= h.counts_len()) return InvalidArgument("V2 counts extend past the counts array");
    if (count > std::numeric_limits<std::int64_t>::max() - h.total_count()) {
      return InvalidArgument("V2 counts overflow the total count");
    }
    // The lowest value of a bucket maps back to that bucket.
    if (count > 0 && !h.Record(h.value_at_index(static_cast<int>(index)), count)) {
      return InvalidArgument("V2 count lies above the highest trackable value");
    }
    ++index;
  }
  return h;
}

// "%.3f" without the C locale's say over the decimal point.
std::string Fixed3(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed, 3);
  if (ec != std::errc()) return "0.000";
  return std::string(buf, end);
}

}  // namespace

std::vector<unsigned char> EncodeV2(const obs::LatencyHistogram& h) {
  // HdrHistogram encodes up to the index of the max value (at least index 0).
  int limit = h.counts_len();
  while (limit > 1 && h.count_at_index(limit - 1) == 0) --limit;

  std::vector<unsigned char> out;
  out.reserve(kV2HeaderSize + 64);
  PutBigEndian(out, kV2EncodingCookieBase | kWordSizeFlag, 4);
  PutBigEndian(out, 0, 4);  // payload length, patched below
  PutBigEndian(out, 0, 4);  // normalizingIndexOffset
  PutBigEndian(out, static_cast<std::uint64_t>(h.significant_figures()), 4);
  PutBigEndian(out, static_cast<std::uint64_t>(h.lowest_discernible_value()), 8);
  PutBigEndian(out, static_cast<std::uint64_t>(h.highest_trackable_value()), 8);
  std::uint64_t ratio_bits = 0;
  const double ratio = 1.0;  // integerToDoubleValueConversionRatio
  std::memcpy(&ratio_bits, &ratio, sizeof(ratio));
  PutBigEndian(out, ratio_bits, 8);

  for (int i = 0; i < limit;) {
    const std::int64_t count = h.count_at_index(i++);
    std::int64_t zeros = 0;
    if (count == 0) {
      zeros = 1;
      while (i < limit && h.count_at_index(i) == 0) {
        ++zeros;
        ++i;
      }
    }
    // A lone zero is written as 0; only runs of two or more become -N.
    PutZigZag(out, zeros > 1 ? -zeros : count);
  }
  const std::size_t payload = out.size() - kV2HeaderSize;
  for (int b = 0; b < 4; ++b) {
    out[4 + static_cast<std::size_t>(b)] = static_cast<unsigned char>(payload >> (24 - 8 * b));
  }
  return out;
}

std::string EncodeCompressedBase64(const obs::LatencyHistogram& h) {
  const std::vector<unsigned char> raw = EncodeV2(h);
  uLongf compressed_len = compressBound(static_cast<uLong>(raw.size()));
  std::vector<unsigned char> out(8 + compressed_len);
  // compress2 writes a zlib stream (header + adler32), as java.util.zip.Deflater.
  if (compress2(out.data() + 8, &compressed_len, raw.data(), static_cast<uLong>(raw.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK) {
    std::abort();  // only on out-of-memory: the buffer is compressBound-sized
  }
  out.resize(8 + compressed_len);
  std::vector<unsigned char> header;
  PutBigEndian(header, kV2CompressedEncodingCookieBase | kWordSizeFlag, 4);
  PutBigEndian(header, compressed_len, 4);
  std::copy(header.begin(), header.end(), out.begin());
  return Base64Encode(out);
}

StatusOr<obs::LatencyHistogram> DecodeCompressedBase64(const std::string& text) {
  StatusOr<std::vector<unsigned char>> bytes = Base64Decode(text);
  if (!bytes.ok()) return bytes.status();
  const std::vector<unsigned char>& b = *bytes;
  if (b.size() < 8) return InvalidArgument("compressed histogram header is truncated");
  const auto cookie = static_cast<std::uint32_t>(GetBigEndian(b.data(), 4));
  if ((cookie & ~0xf0u) != kV2CompressedEncodingCookieBase) {
    return InvalidArgument("not a compressed V2 HdrHistogram (bad cookie)");
  }
  const std::uint64_t len = GetBigEndian(b.data() + 4, 4);
  if (len > b.size() - 8) return InvalidArgument("compressed length exceeds the data");
  StatusOr<std::vector<unsigned char>> raw = Inflate(b.data() + 8, static_cast<std::size_t>(len));
  if (!raw.ok()) return raw.status();
  return DecodeV2(*raw);
}

StatusOr<std::unique_ptr<HlogWriter>> HlogWriter::Open(const std::string& path,
                                                       double start_time_s) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Unavailable("cannot open " + path + ": " + std::strerror(errno));
  std::unique_ptr<HlogWriter> writer(new HlogWriter(f));
  // Java prints Date.toString() in local time; UTC keeps logs comparable
  // across machines. Readers only parse the number before it.
  const auto secs = static_cast<std::time_t>(start_time_s);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char date[64];
  if (std::strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm) == 0) date[0] = '\0';
  std::fprintf(f, "#[Histogram log format version 1.2]\n");
  std::fprintf(f, "#[StartTime: %s (seconds since epoch), %s]\n", Fixed3(start_time_s).c_str(),
               date);
  std::fprintf(f,
               "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
               "\"Interval_Compressed_Histogram\"\n");
  if (std::fflush(f) != 0 || std::ferror(f)) {
    return Unavailable("cannot write " + path + ": " + std::strerror(errno));
  }
  return writer;
}

HlogWriter::~HlogWriter() { std::fclose(f_); }

Status HlogWriter::WriteInterval(double offset_s, double length_s, const obs::LatencyHistogram& h) {
  const std::string line = Fixed3(offset_s) + "," + Fixed3(length_s) + "," +
                           Fixed3(static_cast<double>(h.max()) / 1000.0) + "," +
                           EncodeCompressedBase64(h) + "\n";
  // Flushed per interval so that an interrupted run leaves a readable log.
  if (std::fputs(line.c_str(), f_) == EOF || std::fflush(f_) != 0) {
    return Unavailable(std::string("cannot write histogram log: ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace keel::load
