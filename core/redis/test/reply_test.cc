#include "keel/redis/reply.h"

#include <gtest/gtest.h>

namespace keel::redis {
namespace {

TEST(ReplyTest, DebugStringShowsEveryType) {
  const Reply r = Reply::Array({Reply::Integer(1), Reply::String("a"), Reply::Nil(),
                                Reply::StatusReply("OK"), Reply::ErrorReply("ERR x"),
                                Reply::Array({})});
  EXPECT_EQ(r.DebugString(), R"([1, "a", (nil), +OK, -ERR x, []])");
  EXPECT_EQ(Reply::String(std::string(300, 'x')).DebugString().size(), 200u + 2 + 3);
}

TEST(ReplyTest, IsErrorCodeMatchesTheFirstWord) {
  EXPECT_TRUE(Reply::ErrorReply("NOSCRIPT No matching script").IsErrorCode("NOSCRIPT"));
  EXPECT_TRUE(Reply::ErrorReply("MOVED 1 127.0.0.1:7000").IsErrorCode("MOVED"));
  EXPECT_TRUE(Reply::ErrorReply("CLUSTERDOWN").IsErrorCode("CLUSTERDOWN"));
  EXPECT_FALSE(Reply::ErrorReply("MOVEDX 1").IsErrorCode("MOVED"));
  EXPECT_FALSE(Reply::StatusReply("MOVED 1").IsErrorCode("MOVED"));
}

TEST(ReplyTest, TypeNames) {
  EXPECT_EQ(ReplyTypeName(ReplyType::kArray), "array");
  EXPECT_EQ(ReplyTypeName(ReplyType::kNil), "nil");
}

}  // namespace
}  // namespace keel::redis
