#include "topology.h"

#include <gtest/gtest.h>

namespace keel::redis::internal {
namespace {

Reply Node(const std::string& host, int port) {
  return Reply::Array({Reply::String(host), Reply::Integer(port), Reply::String("id"),
                       Reply::Array({})});
}

TEST(ParseClusterSlotsTest, ReadsPrimariesAndIgnoresReplicas) {
  const Reply reply = Reply::Array(
      {Reply::Array({Reply::Integer(0), Reply::Integer(5460), Node("127.0.0.1", 7000),
                     Node("127.0.0.1", 7003)}),
       Reply::Array({Reply::Integer(5461), Reply::Integer(16383), Node("", 7001)})});
  auto ranges = ParseClusterSlots(reply);
  ASSERT_TRUE(ranges.ok()) << ranges.status().message();
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[0].first, 0);
  EXPECT_EQ((*ranges)[0].last, 5460);
  EXPECT_EQ((*ranges)[0].host, "127.0.0.1");
  EXPECT_EQ((*ranges)[0].port, 7000);
  EXPECT_EQ((*ranges)[1].host, "");  // "the node you asked"
  EXPECT_EQ((*ranges)[1].port, 7001);
}

TEST(ParseClusterSlotsTest, RejectsMalformedReplies) {
  EXPECT_FALSE(ParseClusterSlots(Reply::ErrorReply("ERR This instance has cluster support disabled")).ok());
  EXPECT_FALSE(ParseClusterSlots(Reply::Array({Reply::Integer(1)})).ok());
  EXPECT_FALSE(ParseClusterSlots(Reply::Array({Reply::Array(
                                     {Reply::Integer(10), Reply::Integer(5), Node("h", 1)})}))
                   .ok());
  EXPECT_FALSE(ParseClusterSlots(Reply::Array({Reply::Array(
                                     {Reply::Integer(0), Reply::Integer(16384), Node("h", 1)})}))
                   .ok());
  EXPECT_FALSE(ParseClusterSlots(Reply::Array({Reply::Array(
                                     {Reply::Integer(0), Reply::Integer(1), Node("h", 0)})}))
                   .ok());
  EXPECT_TRUE(ParseClusterSlots(Reply::Array({}))->empty());
}

TEST(ParseRedirectTest, ReadsMovedAndAsk) {
  auto moved = ParseRedirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  auto ask = ParseRedirect("ASK 1 [::1]:7000");
  ASSERT_TRUE(ask.has_value());
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->host, "::1");
  auto hostless = ParseRedirect("MOVED 5 :7002");
  ASSERT_TRUE(hostless.has_value());
  EXPECT_EQ(hostless->host, "");
  EXPECT_EQ(hostless->port, 7002);
}

TEST(ParseRedirectTest, IgnoresOtherErrors) {
  EXPECT_FALSE(ParseRedirect("ERR unknown command").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED x 127.0.0.1:1").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED 16384 127.0.0.1:1").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED 1 127.0.0.1").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED 1 127.0.0.1:99999").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED").has_value());
}

}  // namespace
}  // namespace keel::redis::internal
