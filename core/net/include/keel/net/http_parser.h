// Incremental HTTP/1.1 request parser over a connection's read buffer.
//
// Built on Boost.Beast's basic_parser (kept out of this header), it records
// where the parts of a request lie as offsets from the message's first byte,
// so the connection may move the message within its buffer (compaction,
// growth) between reads without invalidating anything. The body of a
// Content-Length request stays in the buffer; a chunked body is decoded into
// an internal string and its trailer fields are dropped. Obsolete header line
// folding is rejected (400). max_header_bytes bounds the whole header,
// request line included.
//
//   RequestParser parser({.max_header_bytes = 16384, .max_body_bytes = 1 << 20});
//   size_t fed = 0;                     // bytes of this message consumed so far
//   auto r = parser.Feed(msg, available, &fed);
//   if (r == ParseResult::kComplete) { parser.Fill(msg, &request, &headers); parser.Reset(); }
//   if (r == ParseResult::kError) { respond parser.error_status(), parser.error_message() }
//
// Thread-safety: one parser per connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/net/http_message.h"

namespace keel::net {

struct ParserLimits {
  std::size_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1024 * 1024;
};

enum class ParseResult { kNeedMore, kComplete, kError };

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // `msg` points at the first byte of the current message and `size` bytes are
  // available from there; *fed counts the bytes already consumed (start at 0).
  ParseResult Feed(const char* msg, std::size_t size, std::size_t* fed);

  // After kError: the status to answer (400, 413, 431, 505) and why.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

  // True once the header is complete (the body may still be arriving).
  bool header_done() const;
  // The request asked for "Expect: 100-continue".
  bool expects_continue() const { return expect_continue_; }

  // After kComplete: fills `req` (views into msg and this parser) and `headers`.
  void Fill(const char* msg, Request* req, std::vector<Header>* headers) const;
  // The raw traceparent header of the complete request, or "".
  std::string_view traceparent(const char* msg) const;

  // Prepares for the next message; keeps buffers.
  void Reset();

 private:
  class Impl;
  friend class Impl;
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
    std::string_view in(const char* msg) const { return {msg + offset, size}; }
  };

  void ConstructImpl();
  void DestroyImpl();

  ParserLimits limits_;
  // The Beast parser lives in place so that a new message allocates nothing.
  alignas(16) unsigned char impl_storage_[256];
  Impl* impl_ = nullptr;
  Span method_, target_;
  int version_ = 11;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  std::vector<std::pair<Span, Span>> fields_;
  int traceparent_index_ = -1;
  bool chunked_ = false;
  Span body_;
  std::string chunked_body_;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace keel::net
