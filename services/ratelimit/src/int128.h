// 128-bit integers for exact products such as N * P (up to 2^32 * 3.2e16).
#pragma once

#include <algorithm>
#include <cstdint>

#include "keel/ratelimit/decision.h"

namespace keel::ratelimit {

__extension__ typedef __int128 int128;  // NOLINT: GCC/Clang builtin

inline std::int64_t ClampToInt64(int128 v) {
  constexpr int128 kMax = INT64_MAX;
  constexpr int128 kMin = INT64_MIN;
  return static_cast<std::int64_t>(std::clamp(v, kMin, kMax));
}

inline std::uint32_t ClampToUint32(int128 v) {
  return static_cast<std::uint32_t>(std::clamp<int128>(v, 0, UINT32_MAX));
}

// ceil(a / b) for b > 0.
inline int128 CeilDiv(int128 a, int128 b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

inline Duration Ns(std::int64_t ns) { return Duration(std::max<std::int64_t>(ns, 0)); }

}  // namespace keel::ratelimit
