#include "protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keel::redis::internal {
namespace {

TEST(EncodeCommandTest, WritesMultiBulk) {
  std::vector<std::string_view> args = {"SET", "k", "value"};
  EXPECT_EQ(EncodeCommand(args), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n");
}

TEST(EncodeCommandTest, IsBinarySafeAndHandlesManyArguments) {
  const std::string binary("a\0\r\nb", 5);
  std::vector<std::string_view> args = {"SET", binary, ""};
  EXPECT_EQ(EncodeCommand(args), std::string("*3\r\n$3\r\nSET\r\n$5\r\na\0\r\nb\r\n$0\r\n\r\n", 30));
  std::vector<std::string> many(40, "x");
  std::vector<std::string_view> views(many.begin(), many.end());
  const std::string encoded = EncodeCommand(views);
  EXPECT_TRUE(encoded.starts_with("*40\r\n$1\r\nx\r\n"));
  EXPECT_EQ(encoded.size(), 5 + 40 * 7u);
}

struct ReaderCase {
  std::string wire;
  Reply want;
};

class ReaderTest : public ::testing::TestWithParam<ReaderCase> {};

TEST_P(ReaderTest, ParsesWholeAndByteByByte) {
  const ReaderCase& c = GetParam();
  {
    ReplyReader reader;
    ASSERT_TRUE(reader.Feed(c.wire.data(), c.wire.size()).ok());
    auto r = reader.Next();
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, c.want) << (*r)->DebugString();
    auto none = reader.Next();
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
  }
  ReplyReader reader;
  std::optional<Reply> got;
  for (std::size_t i = 0; i < c.wire.size(); ++i) {
    ASSERT_FALSE(got.has_value()) << "reply complete before byte " << i;
    ASSERT_TRUE(reader.Feed(&c.wire[i], 1).ok());
    auto r = reader.Next();
    ASSERT_TRUE(r.ok()) << r.status().message();
    if (r->has_value()) got = std::move(**r);
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, c.want) << got->DebugString();
}

INSTANTIATE_TEST_SUITE_P(
    Replies, ReaderTest,
    ::testing::Values(
        ReaderCase{"+OK\r\n", Reply::StatusReply("OK")},
        ReaderCase{"-ERR wrong type\r\n", Reply::ErrorReply("ERR wrong type")},
        ReaderCase{":-42\r\n", Reply::Integer(-42)},
        ReaderCase{":9223372036854775807\r\n", Reply::Integer(9223372036854775807LL)},
        ReaderCase{"$5\r\nhello\r\n", Reply::String("hello")},
        ReaderCase{"$0\r\n\r\n", Reply::String("")},
        ReaderCase{std::string("$4\r\na\r\n\0\r\n", 10), Reply::String(std::string("a\r\n\0", 4))},
        ReaderCase{"$-1\r\n", Reply::Nil()},
        ReaderCase{"*-1\r\n", Reply::Nil()},
        ReaderCase{"*0\r\n", Reply::Array({})},
        ReaderCase{"*3\r\n:1\r\n$-1\r\n+x\r\n",
                   Reply::Array({Reply::Integer(1), Reply::Nil(), Reply::StatusReply("x")})},
        // CLUSTER SLOTS' shape: arrays three deep.
        ReaderCase{"*1\r\n*3\r\n:0\r\n:5460\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n",
                   Reply::Array({Reply::Array(
                       {Reply::Integer(0), Reply::Integer(5460),
                        Reply::Array({Reply::String("127.0.0.1"), Reply::Integer(7000)})})})},
        ReaderCase{"*2\r\n*0\r\n*1\r\n*-1\r\n",
                   Reply::Array({Reply::Array({}), Reply::Array({Reply::Nil()})})}));

TEST(ReplyReaderTest, SplitsPipelinedReplies) {
  ReplyReader reader;
  const std::string wire = ":1\r\n:2\r\n$3\r\nabc\r\n:4";
  ASSERT_TRUE(reader.Feed(wire.data(), wire.size()).ok());
  std::vector<Reply> got;
  while (true) {
    auto r = reader.Next();
    ASSERT_TRUE(r.ok());
    if (!r->has_value()) break;
    got.push_back(**r);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2], Reply::String("abc"));
  ASSERT_TRUE(reader.Feed("\r\n", 2).ok());
  auto last = reader.Next();
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ(**last, Reply::Integer(4));
}

TEST(ReplyReaderTest, RejectsNonResp) {
  ReplyReader reader;
  ASSERT_TRUE(reader.Feed("?what\r\n", 7).ok());
  auto r = reader.Next();
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("protocol error"), std::string::npos);
}

TEST(ReplyReaderTest, FreesAPartialTreeOnError) {
  // ASan checks that the half-built array is freed.
  ReplyReader reader;
  const std::string wire = "*3\r\n$3\r\nabc\r\n*2\r\n:1\r\n!bad\r\n";
  ASSERT_TRUE(reader.Feed(wire.data(), wire.size()).ok());
  EXPECT_FALSE(reader.Next().ok());
}

TEST(ReplyReaderTest, FreesAnUnfinishedReplyOnDestruction) {
  ReplyReader reader;
  const std::string wire = "*2\r\n$3\r\nabc\r\n";
  ASSERT_TRUE(reader.Feed(wire.data(), wire.size()).ok());
  auto r = reader.Next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

}  // namespace
}  // namespace keel::redis::internal
