#include "keel/ratelimit/key_hash.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace keel::ratelimit {
namespace {

TEST(KeyHashTest, DependsOnEveryPartAndBoundary) {
  DescriptorEntry a[] = {{"ab", "c"}};
  DescriptorEntry b[] = {{"a", "bc"}};
  DescriptorEntry c[] = {{"ab", "c"}, {"x", "y"}};
  EXPECT_NE(HashDescriptor("d", a), HashDescriptor("d", b));
  EXPECT_NE(HashDescriptor("d", a), HashDescriptor("e", a));
  EXPECT_NE(HashDescriptor("d", a), HashDescriptor("d", c));
  EXPECT_NE(HashDescriptor("d", a, 1), HashDescriptor("d", a, 2));
  EXPECT_EQ(HashDescriptor("d", a), HashDescriptor("d", a));
}

TEST(KeyHashTest, NoCollisionsAmongAMillionSimilarKeys) {
  std::unordered_set<std::uint64_t> seen;
  for (int i = 0; i < 1'000'000; ++i) {
    const std::string ip = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) +
                           "." + std::to_string(i & 255);
    DescriptorEntry e[] = {{"remote_address", ip}};
    ASSERT_TRUE(seen.insert(HashDescriptor("edge", e)).second) << ip;
  }
}

TEST(KeyHashTest, HashesAllLengths) {
  std::unordered_set<std::uint64_t> seen;
  std::string s;
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(seen.insert(Hash64(s)).second) << i;
    s.push_back('\0');
  }
}

}  // namespace
}  // namespace keel::ratelimit
