// libFuzzer target for RequestParser, driven the way Connection drives it.
//
// The first input byte picks the limits and how the rest arrives: in reads of
// 1..N bytes, with the partial message copied to a new exactly-sized heap
// block before every Feed (so ASan sees any view that outlives a move or
// points past the data), and with pipelined messages parsed from the same
// read. Each complete message is Filled, every view is read, and the result
// must match a parse of the same bytes fed at once.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/net/http_parser.h"

namespace {

using keel::net::Header;
using keel::net::ParseResult;
using keel::net::ParserLimits;
using keel::net::Request;
using keel::net::RequestParser;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Within(std::string_view v, const char* begin, std::size_t size) {
  return v.empty() || (v.data() >= begin && v.data() + v.size() <= begin + size);
}

// Reads every byte of v so ASan checks it.
unsigned Touch(std::string_view v) {
  unsigned sum = 0;
  for (char c : v) sum += static_cast<unsigned char>(c);
  return sum;
}

struct Parsed {
  Request req;
  std::vector<Header> headers;
};

// Fills `out` from a complete message of `size` bytes at msg and checks that
// every view into the message stays inside it.
void FillAndCheck(const RequestParser& parser, const char* msg, std::size_t size, Parsed* out) {
  parser.Fill(msg, &out->req, &out->headers);
  const Request& req = out->req;
  Check(!req.method_name.empty());
  Check(Within(req.method_name, msg, size));
  Check(Within(req.target, msg, size));
  Check(req.version == 10 || req.version == 11);
  for (const auto& [name, value] : out->headers) {
    Check(!name.empty());
    Check(Within(name, msg, size));
    Check(Within(value, msg, size));
  }
  Check(Within(parser.traceparent(msg), msg, size));
  volatile unsigned sink = Touch(req.method_name) + Touch(req.target) + Touch(req.body) +
                           Touch(req.header("content-type")) + Touch(parser.traceparent(msg));
  (void)sink;
}

// The same message fed in one call must parse to the same request.
void CheckSameAsWhole(const ParserLimits& limits, const char* msg, std::size_t size,
                      const Parsed& split) {
  std::unique_ptr<char[]> copy(new char[size]);
  std::memcpy(copy.get(), msg, size);
  RequestParser parser(limits);
  std::size_t fed = 0;
  Check(parser.Feed(copy.get(), size, &fed) == ParseResult::kComplete);
  Check(fed == size);
  Parsed whole;
  FillAndCheck(parser, copy.get(), size, &whole);
  Check(whole.req.method == split.req.method);
  Check(whole.req.target == split.req.target);
  Check(whole.req.version == split.req.version);
  Check(whole.req.keep_alive == split.req.keep_alive);
  Check(whole.req.body == split.req.body);
  Check(whole.headers == split.headers);
}

// A small deterministic generator for read sizes, seeded from the input.
class Splitter {
 public:
  explicit Splitter(std::uint8_t mode) : state_(0x9e3779b9u ^ mode), max_(1u + (mode & 0x3fu)) {}
  std::size_t Next() {
    state_ = state_ * 1664525u + 1013904223u;
    return 1 + (state_ >> 16) % max_;
  }

 private:
  std::uint32_t state_;
  std::uint32_t max_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 64 * 1024) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  // Small limits reach the 431/413 paths with short inputs.
  const ParserLimits limits = (mode & 0x80) != 0
                                  ? ParserLimits{.max_header_bytes = 128, .max_body_bytes = 64}
                                  : ParserLimits{};
  const bool check_whole = (mode & 0x40) != 0;

  RequestParser parser(limits);
  Splitter splitter(mode);
  std::size_t begin = 0;    // first byte of the current message in `input`
  std::size_t arrived = 0;  // bytes received so far
  std::size_t fed = 0;      // bytes of the current message the parser consumed
  std::unique_ptr<char[]> buf;
  while (arrived < input.size()) {
    arrived = std::min(input.size(), arrived + splitter.Next());
    // Move the partial message, as a connection compacting or growing its
    // buffer does; the old block is freed.
    const std::size_t available = arrived - begin;
    std::unique_ptr<char[]> moved(new char[available]);
    std::memcpy(moved.get(), input.data() + begin, available);
    buf = std::move(moved);
    std::size_t offset = 0;  // of the current message within buf
    while (true) {
      const char* msg = buf.get() + offset;
      const std::size_t avail = available - offset;
      const std::size_t before = fed;
      ParseResult r = parser.Feed(msg, avail, &fed);
      Check(fed >= before && fed <= avail);
      if (r == ParseResult::kError) {
        const int status = parser.error_status();
        Check(status == 400 || status == 413 || status == 431 || status == 501 || status == 505);
        Check(!parser.error_message().empty());
        return 0;  // the connection answers and closes
      }
      if (r == ParseResult::kNeedMore) break;
      Check(parser.header_done());
      Parsed split;
      FillAndCheck(parser, msg, fed, &split);
      if (check_whole) CheckSameAsWhole(limits, msg, fed, split);
      offset += fed;
      begin += fed;
      fed = 0;
      parser.Reset();
      if (offset == available) break;
    }
  }
  return 0;
}
