#include "keel/base/format.h"

#include <gtest/gtest.h>

#include <string>

namespace keel {
namespace {

TEST(StrFormatTest, FormatsLikePrintf) {
  EXPECT_EQ(StrFormat("%s=%d %.2f", "x", 42, 1.5), "x=42 1.50");
  EXPECT_EQ(StrFormat("plain"), "plain");
}

TEST(StrFormatTest, OutputLongerThanTheStackBufferIsWhole) {
  const std::string long_text(5000, 'a');
  const std::string got = StrFormat("[%s]", long_text.c_str());
  EXPECT_EQ(got.size(), 5002u);
  EXPECT_EQ(got, "[" + long_text + "]");
}

}  // namespace
}  // namespace keel
