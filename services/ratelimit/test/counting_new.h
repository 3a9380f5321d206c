// Links a global operator new that counts allocations into the binary
// (test/counting_new.cc), for checks that a code path never allocates.
//
//   const std::uint64_t before = keel::ratelimit::testing::AllocationCount();
//   DoWork();
//   EXPECT_EQ(keel::ratelimit::testing::AllocationCount(), before);
//
// Thread-safety: counts every thread's allocations.
#pragma once

#include <cstdint>

namespace keel::ratelimit::testing {

std::uint64_t AllocationCount();

}  // namespace keel::ratelimit::testing
