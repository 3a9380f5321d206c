#include "keel/load/results_writer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace keel::load {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ResultsLineTest, FormatsEachField) {
  struct Case {
    RequestRecord record;
    std::string line;
  };
  const std::vector<Case> cases = {
      {{0, 1767225600000000, 201, 1834, "ok"}, "0,1767225600000000,201,1834,ok\n"},
      {{17, 1767225600010000, 0, 2000114, "timeout"}, "17,1767225600010000,0,2000114,timeout\n"},
      {{18446744073709551615ull, 1, 503, 1, "status_5xx"},
       "18446744073709551615,1,503,1,status_5xx\n"},
      {{3, 5, 0, 9, "over_limit"}, "3,5,0,9,over_limit\n"},
  };
  for (const auto& c : cases) {
    std::string out = "x";
    AppendResultLine(c.record, &out);
    EXPECT_EQ(out, "x" + c.line);
  }
}

TEST(ResultsFileTest, CreateWritesTheHeader) {
  const std::string path = testing::TempDir() + "/results_header.csv";
  auto f = ResultsFile::Create(path);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(Slurp(path), std::string(kResultsHeader));
  EXPECT_TRUE((*f)->Close().ok());
  EXPECT_TRUE((*f)->Close().ok());  // closing twice is harmless
}

TEST(ResultsFileTest, CreateFailsForAMissingDirectory) {
  auto f = ResultsFile::Create(testing::TempDir() + "/no/such/dir/x.csv");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(f.status().message().find("no/such/dir"), std::string::npos);
}

TEST(ResultsFileTest, CloseReportsAFailedWrite) {
  auto f = ResultsFile::Create("/dev/full");
  ASSERT_TRUE(f.ok()) << f.status().message();
  (*f)->Append("0,1,201,1,ok\n");
  EXPECT_EQ((*f)->Close().code(), StatusCode::kUnavailable);
}

TEST(ResultsBufferTest, HoldsLinesUntilCapacityThenWritesThemAtOnce) {
  const std::string path = testing::TempDir() + "/results_buffer.csv";
  auto f = ResultsFile::Create(path);
  ASSERT_TRUE(f.ok());
  const std::string header(kResultsHeader);
  {
    ResultsBuffer buffer(**f, /*capacity=*/40);
    buffer.Add({0, 1000, 201, 10, "ok"});  // 17 bytes
    buffer.Add({1, 2000, 201, 11, "ok"});  // 34
    EXPECT_EQ(Slurp(path), header);        // still buffered
    buffer.Add({2, 3000, 500, 12, "status_5xx"});  // 59 >= 40: written
    const std::string first = "0,1000,201,10,ok\n1,2000,201,11,ok\n2,3000,500,12,status_5xx\n";
    EXPECT_EQ(Slurp(path), header + first);
    buffer.Add({3, 4000, 0, 13, "read"});
    buffer.Flush();
    EXPECT_EQ(Slurp(path), header + first + "3,4000,0,13,read\n");
    buffer.Add({4, 5000, 0, 14, "timeout"});
  }  // the destructor flushes
  EXPECT_TRUE((*f)->Close().ok());
  const std::string all = Slurp(path);
  EXPECT_EQ(all.substr(all.size() - 20), "4,5000,0,14,timeout\n");
}

TEST(ResultsBufferTest, BuffersOfSeveralThreadsWriteWholeLines) {
  const std::string path = testing::TempDir() + "/results_threads.csv";
  auto f = ResultsFile::Create(path);
  ASSERT_TRUE(f.ok());
  constexpr int kThreads = 4, kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ResultsBuffer buffer(**f, 1000);
      for (int i = 0; i < kPerThread; ++i) {
        const auto seq = static_cast<std::uint64_t>(i * kThreads + t);
        buffer.Add({seq, 1767225600000000 + static_cast<std::int64_t>(seq), 201, 100, "ok"});
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE((*f)->Close().ok());

  std::istringstream in(Slurp(path));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line + "\n", std::string(kResultsHeader));
  std::set<std::uint64_t> seen;
  while (std::getline(in, line)) {
    const std::uint64_t seq = std::stoull(line.substr(0, line.find(',')));
    EXPECT_EQ(line, std::to_string(seq) + "," + std::to_string(1767225600000000 + seq) + ",201,100,ok");
    seen.insert(seq);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace keel::load
