// USE metrics for the process, read from /proc at scrape time:
// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds (the names Prometheus client libraries use),
// and keel_process_threads.
//
//   RegisterProcessMetrics(DefaultRegistry());
//
// The series of one scrape share one /proc snapshot (reused for up to 100 ms).
// Thread-safety: the callbacks may run on any thread.
#pragma once

#include <cstdint>

#include "keel/obs/metrics.h"

namespace keel::obs {

struct ProcessStats {
  double cpu_seconds = 0;
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
  std::uint64_t threads = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// Reads the calling process's stats; fields that cannot be read stay 0.
ProcessStats ReadProcessStats();

void RegisterProcessMetrics(Registry& registry);

}  // namespace keel::obs
