// RunLoad over HTTP with LoadConfig::results against an in-process server
// whose answer depends on the request's {{seq}} (sent in a header): each
// line's seq, status and outcome must agree, unanswered requests appear as
// timeouts, and intended times follow the open-loop schedule.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keel/load/load_engine.h"
#include "keel/load/results_writer.h"

namespace keel::load {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// seq % 4 == 3: no answer (the client times out); else even 201, odd 503.
int StatusFor(std::uint64_t seq) { return seq % 4 == 3 ? 0 : seq % 2 == 0 ? 201 : 503; }

class SeqServer {
 public:
  SeqServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~SeqServer() {
    stopping_ = true;
    tcp::socket wake(io_);
    boost::system::error_code ec;
    wake.connect(acceptor_.local_endpoint(), ec);
    accept_thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : conn_threads_) t.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void AcceptLoop() {
    while (true) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (stopping_ || ec) return;
      std::lock_guard<std::mutex> lock(mu_);
      conn_threads_.emplace_back([socket] { Serve(*socket); });
    }
  }

  // Ends when the client closes the connection (after the run, or after it
  // gave up on an unanswered request).
  static void Serve(tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(socket, buffer, req, ec);
      if (ec) return;
      const int status = StatusFor(std::stoull(std::string(req["X-Seq"])));
      if (status == 0) continue;
      http::response<http::string_body> res{static_cast<http::status>(status), 11};
      res.body() = "{}";
      res.prepare_payload();
      http::write(socket, res, ec);
      if (ec) return;
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> conn_threads_;  // GUARDED_BY(mu_)
};

struct Line {
  std::int64_t intended_unix_us;
  int status;
  std::int64_t latency_us;
  std::string outcome;
};

TEST(LoadResultsTest, OneLinePerRequestWithItsSeqStatusAndIntendedTime) {
  SeqServer server;
  const std::string path = testing::TempDir() + "/load_results_test.csv";
  auto file = ResultsFile::Create(path);
  ASSERT_TRUE(file.ok()) << file.status().message();

  LoadConfig cfg;
  cfg.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/orders";
  auto target = ParseUrl(cfg.url);
  ASSERT_TRUE(target.ok());
  cfg.target = *target;
  RequestSpec spec;
  spec.method = "POST";
  spec.target = *Template::Parse("/orders");
  spec.headers.emplace_back("X-Seq", *Template::Parse("{{seq}}"));
  spec.body = *Template::Parse("{}");
  cfg.requests.push_back(std::move(spec));
  cfg.profile = *RateProfile::ParseRate("200", std::chrono::seconds(1));
  cfg.timeout = std::chrono::milliseconds(300);
  cfg.connections = 64;  // the held requests (15 at a time on average) leave room
  cfg.threads = 2;  // the two threads' lines share the file
  cfg.results = file->get();

  const auto unix_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const std::int64_t before = unix_us();
  auto result = RunLoad(cfg);
  const std::int64_t after = unix_us();
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_TRUE((*file)->Close().ok());

  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text + "\n", std::string(kResultsHeader));
  std::map<std::uint64_t, Line> lines;
  while (std::getline(in, text)) {
    std::istringstream row(text);
    std::string seq, intended, status, latency, outcome;
    std::getline(row, seq, ',');
    std::getline(row, intended, ',');
    std::getline(row, status, ',');
    std::getline(row, latency, ',');
    std::getline(row, outcome);
    EXPECT_TRUE(lines.emplace(std::stoull(seq), Line{std::stoll(intended), std::stoi(status),
                                                      std::stoll(latency), outcome})
                    .second)
        << "seq " << seq << " twice";
  }

  // Every request of the run (200/s for 1 s) finished: answered or timed out.
  ASSERT_EQ(lines.size(), 200u);
  EXPECT_EQ(lines.begin()->first, 0u);
  EXPECT_EQ(lines.rbegin()->first, 199u);
  EXPECT_EQ(result->sent, 200u);
  const std::int64_t first = lines.at(0).intended_unix_us;
  EXPECT_GE(first, before);
  EXPECT_LE(lines.at(199).intended_unix_us, after);
  for (const auto& [seq, line] : lines) {
    SCOPED_TRACE("seq " + std::to_string(seq));
    const int want = StatusFor(seq);
    EXPECT_EQ(line.status, want);
    EXPECT_EQ(line.outcome, want == 0 ? "timeout" : want == 201 ? "ok" : "status_5xx");
    if (want == 0) {
      EXPECT_GE(line.latency_us, 300'000);
    } else {
      EXPECT_GT(line.latency_us, 0);
      EXPECT_LT(line.latency_us, 300'000);
    }
    // Request k is due k / 200 s after the first (the clocks' offset is
    // fixed for the run, so this is exact up to rounding to µs).
    EXPECT_NEAR(static_cast<double>(line.intended_unix_us - first), static_cast<double>(seq) * 5000.0, 1.0);
  }
  EXPECT_EQ(result->errors[static_cast<int>(ErrorKind::kTimeout)], 50u);
  EXPECT_EQ(result->errors[static_cast<int>(ErrorKind::kStatus5xx)], 50u);
}

}  // namespace
}  // namespace keel::load
