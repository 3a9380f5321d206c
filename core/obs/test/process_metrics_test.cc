#include "keel/obs/process_metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace keel::obs {
namespace {

using ::testing::HasSubstr;

// Burns CPU on this thread for about `d` of wall time.
double BusyWork(std::chrono::milliseconds d) {
  volatile double x = 0;
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 10000; ++i) x = x + std::sqrt(static_cast<double>(i));
  }
  return x;
}

TEST(ProcessStatsTest, ReportsPlausibleValues) {
  ProcessStats s = ReadProcessStats();
  EXPECT_GE(s.threads, 1u);
  EXPECT_GT(s.resident_bytes, 0u);
  EXPECT_GE(s.virtual_bytes, s.resident_bytes);
  EXPECT_GE(s.open_fds, 3u);  // stdin, stdout, stderr
  EXPECT_GT(s.max_fds, 0u);
  EXPECT_GE(s.max_fds, s.open_fds);
  EXPECT_GE(s.cpu_seconds, 0);
}

TEST(ProcessStatsTest, StartTimeIsWithinTheLastHour) {
  ProcessStats s = ReadProcessStats();
  const double now = static_cast<double>(time(nullptr));
  EXPECT_LE(s.start_time_seconds, now + 2);  // btime has whole-second resolution
  EXPECT_GT(s.start_time_seconds, now - 3600);
}

TEST(ProcessStatsTest, OpenFdsCountsNewDescriptors) {
  const std::uint64_t before = ReadProcessStats().open_fds;
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  const std::uint64_t during = ReadProcessStats().open_fds;
  for (int fd : fds) close(fd);
  const std::uint64_t after = ReadProcessStats().open_fds;
  EXPECT_EQ(during, before + 5);
  EXPECT_EQ(after, before);
}

// Threads of this process per the kernel's task list, an independent source.
std::uint64_t TaskCount() {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    (void)e;
    ++n;
  }
  return n;
}

TEST(ProcessStatsTest, ThreadsCountsNewThreads) {
  // Sanitizer runtimes may start helper threads of their own: compare with
  // the kernel's task list at the same moment rather than with a fixed +1.
  std::thread warm([] {});
  warm.join();
  const std::uint64_t before = ReadProcessStats().threads;
  std::uint64_t during = 0, tasks = 0;
  std::thread t([&] {
    during = ReadProcessStats().threads;
    tasks = TaskCount();
  });
  t.join();
  EXPECT_EQ(during, tasks);
  EXPECT_EQ(during, before + 1);
}

TEST(ProcessStatsTest, CpuSecondsGrowWithBusyWork) {
  const double before = ReadProcessStats().cpu_seconds;
  BusyWork(std::chrono::milliseconds(300));
  const double after = ReadProcessStats().cpu_seconds;
  // CPU time is counted in clock ticks (usually 10 ms); a shared machine may
  // not give us the whole 300 ms, but well over one tick.
  EXPECT_GT(after, before + 0.05) << "before " << before << " after " << after;
}

TEST(ProcessMetricsTest, RegistersTheStandardProcessSeries) {
  Registry r;
  RegisterProcessMetrics(r);
  std::string text = r.Render(ExpositionFormat::kPrometheusText);
  struct Case {
    const char* name;
    const char* type;
  };
  const Case cases[] = {
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_virtual_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_max_fds", "gauge"},
      {"process_start_time_seconds", "gauge"},
      {"keel_process_threads", "gauge"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(text, HasSubstr("# TYPE " + std::string(c.name) + " " + c.type + "\n"));
    // One sample line with a non-negative number.
    std::regex sample("\n" + std::string(c.name) + " ([0-9.e+]+)\n");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(text, m, sample)) << c.name << " in\n" << text;
    EXPECT_GE(std::stod(m[1]), 0) << c.name;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("\nprocess_resident_memory_bytes ([0-9]+)\n")));
  EXPECT_GT(std::stod(m[1]), 0);
  ASSERT_TRUE(std::regex_search(text, m, std::regex("\nkeel_process_threads ([0-9]+)\n")));
  EXPECT_GE(std::stod(m[1]), 1);
}

TEST(ProcessMetricsTest, OpenMetricsNamesCpuCounterWithoutTotal) {
  Registry r;
  RegisterProcessMetrics(r);
  std::string text = r.Render(ExpositionFormat::kOpenMetrics);
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds counter\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_cpu_seconds_total "));
}

}  // namespace
}  // namespace keel::obs
