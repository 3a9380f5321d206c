// Reply: one Redis reply as a plain value (RESP2: nil, integer, bulk string,
// status, error, array).
//
// A server error reply ("-ERR wrong number of arguments", "-NOSCRIPT ...") is
// a Reply of type kError, not a failed Status: the command reached Redis and
// Redis answered. A failed Status means no answer came (timeout, connection
// lost, ...; see keel/redis/executor.h).
//
//   Reply r = ...;
//   if (r.is_error()) return Fail(r.str);
//   if (r.type == ReplyType::kInteger) Use(r.integer);
//
// Thread-safety: a value; copy and move freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keel::redis {

enum class ReplyType { kNil, kInteger, kString, kStatus, kError, kArray };

struct Reply {
  ReplyType type = ReplyType::kNil;
  std::int64_t integer = 0;    // kInteger
  std::string str;             // kString (binary-safe), kStatus ("OK"), kError ("ERR ...")
  std::vector<Reply> elements;  // kArray

  static Reply Nil() { return Reply{}; }
  static Reply Integer(std::int64_t v) { return Reply{ReplyType::kInteger, v, {}, {}}; }
  static Reply String(std::string s) { return Reply{ReplyType::kString, 0, std::move(s), {}}; }
  static Reply StatusReply(std::string s) { return Reply{ReplyType::kStatus, 0, std::move(s), {}}; }
  static Reply ErrorReply(std::string s) { return Reply{ReplyType::kError, 0, std::move(s), {}}; }
  static Reply Array(std::vector<Reply> e) { return Reply{ReplyType::kArray, 0, {}, std::move(e)}; }

  bool is_nil() const { return type == ReplyType::kNil; }
  bool is_error() const { return type == ReplyType::kError; }
  // True for an error reply whose first word is `code` ("MOVED", "NOSCRIPT").
  bool IsErrorCode(std::string_view code) const;

  // Human-readable form for logs and test failures: 42, "abc", +OK, -ERR x,
  // (nil), [1, "a"]. Strings are truncated to 200 bytes.
  std::string DebugString() const;

  friend bool operator==(const Reply&, const Reply&) = default;
};

std::string_view ReplyTypeName(ReplyType type);

}  // namespace keel::redis
