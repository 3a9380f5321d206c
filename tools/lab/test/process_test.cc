#include "keel/lab/process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace keel::lab {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string TempLog() {
  char name[] = "/tmp/keel-proc-XXXXXX";
  const int fd = mkstemp(name);
  ::close(fd);
  return name;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ChildTest, RunsWithEnvAndLogsOutput) {
  const std::string log = TempLog();
  auto c = Child::Start({"sh", "-c", "echo out $KEEL_LAB_TEST; echo err >&2; exit 3"}, {{"KEEL_LAB_TEST", "yes"}}, log);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE((*c)->Wait(seconds(10)));
  EXPECT_EQ((*c)->exit_code(), 3);
  EXPECT_EQ(Read(log), "out yes\nerr\n");
  std::remove(log.c_str());
}

TEST(ChildTest, MissingProgramIsAnError) {
  const std::string log = TempLog();
  auto c = Child::Start({"/nonexistent/keel-lab-no-such-binary"}, {}, log);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("cannot run '/nonexistent/keel-lab-no-such-binary'"));
  std::remove(log.c_str());
}

TEST(ChildTest, StopEscalatesToKillAfterTheGrace) {
  const std::string log = TempLog();
  auto c = Child::Start({"sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.05; done"}, {}, log);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 200 && Read(log).empty(); ++i) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_TRUE((*c)->Running());
  (*c)->Stop(SIGTERM, milliseconds(300));
  EXPECT_FALSE((*c)->Running());
  EXPECT_EQ((*c)->exit_code(), 128 + SIGKILL);
  std::remove(log.c_str());
}

TEST(ChildTest, SignalReachesTheWholeGroup) {
  // The shell's child (sleep) must die with it, not linger as an orphan.
  const std::string log = TempLog();
  auto c = Child::Start({"sh", "-c", "sleep 30 & echo $!; wait"}, {}, log);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 200 && Read(log).empty(); ++i) std::this_thread::sleep_for(milliseconds(10));
  const pid_t grandchild = std::stoi(Read(log));
  (*c)->Stop(SIGTERM, seconds(5));
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = ::kill(grandchild, 0) != 0;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(gone);
  std::remove(log.c_str());
}

TEST(ChildTest, KillReachesADescendantThatLeftTheGroup) {
  // PostgreSQL's backends call setsid(): a group kill alone spares them.
  const std::string log = TempLog();
  auto c = Child::Start({"sh", "-c", "setsid sleep 30 & echo $!; wait"}, {}, log);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 200 && Read(log).empty(); ++i) std::this_thread::sleep_for(milliseconds(10));
  const pid_t escaped = std::stoi(Read(log));
  ASSERT_NE(::getpgid(escaped), ::getpgid((*c)->pid()));
  (*c)->Signal(SIGKILL);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    // Gone, or a zombie waiting for its new parent to reap it.
    std::ifstream stat("/proc/" + std::to_string(escaped) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    gone = text.empty() || text.find(") Z") != std::string::npos;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(gone);
  (*c)->Stop(SIGKILL, seconds(1));
  std::remove(log.c_str());
}

TEST(ChildTest, DestructorKillsARunningChild) {
  const std::string log = TempLog();
  pid_t pid = 0;
  {
    auto c = Child::Start({"sleep", "30"}, {}, log);
    ASSERT_TRUE(c.ok());
    pid = (*c)->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: no such process
  std::remove(log.c_str());
}

}  // namespace
}  // namespace keel::lab
