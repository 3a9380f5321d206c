#include "keel/base/json_string.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace keel {
namespace {

TEST(JsonStringTest, EscapesWhatJsonNeedsAndKeepsUtf8) {
  const struct {
    std::string in;
    std::string_view out;
  } cases[] = {
      {"plain", R"("plain")"},
      {"", R"("")"},
      {"a\"b\\c", R"("a\"b\\c")"},
      {"\n\r\t", R"("\n\r\t")"},
      {std::string("\x00\x01\x1f", 3), R"("\u0000\u0001\u001f")"},
      {"\x7f", R"("\u007f")"},
      // Well-formed UTF-8 passes through; any other byte becomes U+FFFD.
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
      {"\xe2\x82\xac \xf0\x9f\x98\x80", "\"\xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"\xff", R"("\ufffd")"},
      {"caf\xc3", R"("caf\ufffd")"},                  // truncated sequence
      {"\xc0\xaf", R"("\ufffd\ufffd")"},              // overlong '/'
      {"\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")"},     // a surrogate
      {"\xf4\x90\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},  // past U+10FFFF
      {"\xe2\x28\xa1", R"("\ufffd(\ufffd")"},          // bad continuation
      {"/<>'", R"("/<>'")"},
  };
  for (const auto& c : cases) {
    std::string out = "prefix:";
    AppendJsonString(&out, c.in);
    EXPECT_EQ(out, "prefix:" + std::string(c.out));
    // Always valid JSON, whatever the input bytes.
    EXPECT_TRUE(nlohmann::json::accept(out.substr(7))) << out;
  }
}

}  // namespace
}  // namespace keel
