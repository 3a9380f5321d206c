// printf-style formatting into a std::string, checked by the compiler:
//
//   std::string line = StrFormat("%-8s %6.2f ms", name.c_str(), ms);
//
// Any length (one vsnprintf into a stack buffer, a second into the string
// when it did not fit). Thread-safe.
#pragma once

#include <string>

namespace keel {

__attribute__((format(printf, 1, 2))) std::string StrFormat(const char* fmt, ...);

}  // namespace keel
