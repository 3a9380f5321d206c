#include "keel/obs/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

namespace keel::obs {
namespace {

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats s;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));

  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the ")" that closes the command name, which may hold spaces.
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 2));
      std::string f[22];
      for (auto& x : f) rest >> x;
      // rest starts at field 3 (state): utime=14, stime=15, threads=20, starttime=22.
      s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      s.threads = std::stoull(f[17]);
      static const double boot_time = BootTimeSeconds();  // fixed while the host is up
      s.start_time_seconds = boot_time + std::stod(f[19]) / ticks;
      s.virtual_bytes = std::stoull(f[20]);
      s.resident_bytes = std::stoull(f[21]) * page;
    }
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++s.open_fds;
    }
    closedir(dir);
    if (s.open_fds > 0) --s.open_fds;  // the directory's own descriptor
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) s.max_fds = rl.rlim_cur;
  return s;
}

namespace {

// One /proc read serves all seven series of a scrape: a snapshot is reused
// while it is younger than kFresh.
ProcessStats SharedStats() {
  constexpr auto kFresh = std::chrono::milliseconds(100);
  static std::mutex mu;
  static ProcessStats stats;
  static std::chrono::steady_clock::time_point read_at;
  std::lock_guard<std::mutex> lock(mu);
  const auto now = std::chrono::steady_clock::now();
  if (read_at == std::chrono::steady_clock::time_point{} || now - read_at >= kFresh) {
    stats = ReadProcessStats();
    read_at = now;
  }
  return stats;
}

}  // namespace

void RegisterProcessMetrics(Registry& registry) {
  registry.AddCallback("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
                       MetricType::kCounter, [] { return SharedStats().cpu_seconds; });
  registry.AddCallback("process_resident_memory_bytes", "Resident memory size in bytes.",
                       MetricType::kGauge,
                       [] { return static_cast<double>(SharedStats().resident_bytes); });
  registry.AddCallback("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                       MetricType::kGauge,
                       [] { return static_cast<double>(SharedStats().virtual_bytes); });
  registry.AddCallback("process_open_fds", "Number of open file descriptors.", MetricType::kGauge,
                       [] { return static_cast<double>(SharedStats().open_fds); });
  registry.AddCallback("process_max_fds", "Maximum number of open file descriptors.",
                       MetricType::kGauge,
                       [] { return static_cast<double>(SharedStats().max_fds); });
  registry.AddCallback("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.",
                       MetricType::kGauge, [] { return SharedStats().start_time_seconds; });
  registry.AddCallback("keel_process_threads", "Number of OS threads in the process.",
                       MetricType::kGauge,
                       [] { return static_cast<double>(SharedStats().threads); });
}

}  // namespace keel::obs
