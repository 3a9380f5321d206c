// JSON string literals from arbitrary bytes, for every hand-written JSON
// writer in Keel (HTTP error bodies, logs, the rate limiter's answers):
//
//   std::string out = "{\"error\":";
//   AppendJsonString(&out, message);   // quotes included
//
// Escapes '"', '\\', control characters and DEL; well-formed UTF-8 passes
// through unchanged; any byte that is not part of a well-formed UTF-8
// sequence (input from the network may be anything) becomes \ufffd, so the
// output is always valid JSON and valid UTF-8. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace keel {

void AppendJsonString(std::string* out, std::string_view s);

}  // namespace keel
