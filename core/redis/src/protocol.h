// RESP on the wire through hiredis: commands encoded with
// redisFormatCommandArgv, replies parsed by hiredis's redisReader straight
// into keel::redis::Reply values (custom reply-object functions, no
// intermediate redisReply tree).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "keel/base/status.h"
#include "keel/redis/reply.h"

struct redisReader;

namespace keel::redis::internal {

// The RESP multi-bulk encoding of one command. REQUIRES: !args.empty().
std::string EncodeCommand(std::span<const std::string_view> args);

// An incremental reply parser for one connection's byte stream.
// Thread-safety: none (one per connection).
class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Appends bytes read from the socket (copied).
  Status Feed(const char* data, std::size_t size);
  // The next complete reply; nullopt when more bytes are needed. A protocol
  // error (the stream is not RESP) is final: the connection must be closed.
  StatusOr<std::optional<Reply>> Next();

 private:
  redisReader* reader_;
};

}  // namespace keel::redis::internal
