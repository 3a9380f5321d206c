// Server-side admission control (HttpServerOptions::admission) against the
// real server on port 0, with a LoadShedder of a fixed or AIMD limit.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "blocking_client.h"
#include "keel/net/http_server.h"
#include "keel/net/worker_context.h"
#include "keel/obs/metrics.h"
#include "keel/resilience/load_shedder.h"

namespace keel::net {
namespace {

using namespace std::chrono_literals;
using keel::net::testing::Client;
using keel::net::testing::Get;
using keel::net::testing::HttpResponse;
using resilience::LimitKind;
using resilience::LoadShedder;
using resilience::LoadShedderOptions;

// Requests to /hold wait in their handler until Release(); all on the one
// worker thread, which polls the flag.
class Parking {
 public:
  AsyncHandler Handler() {
    return [this](const Request&, Response& res, Responder r) {
      parked_.fetch_add(1);
      auto responder = std::make_shared<Responder>(std::move(r));
      Poll(res, responder);
    };
  }
  void Release() { released_.store(true); }
  // Waits (bounded) until `n` requests are parked.
  bool WaitParked(int n) {
    for (int i = 0; i < 400 && parked_.load() < n; ++i) std::this_thread::sleep_for(5ms);
    return parked_.load() >= n;
  }
  int parked() const { return parked_.load(); }

 private:
  void Poll(Response& res, std::shared_ptr<Responder> responder) {
    if (released_.load()) {
      res.body() = "released";
      responder->Send();
      return;
    }
    CurrentScheduler().After(1ms, [this, &res, responder] { Poll(res, responder); });
  }
  std::atomic<int> parked_{0};
  std::atomic<bool> released_{false};
};

class AdmissionTest : public ::testing::Test {
 protected:
  void Start(const LoadShedderOptions& shedder_options, Router router) {
    auto shedder = LoadShedder::Create(shedder_options, SystemClock::Default(), registry_);
    ASSERT_TRUE(shedder.ok()) << shedder.status().message();
    shedder_ = std::move(*shedder);
    HttpServerOptions options;
    options.threads = 1;
    options.shutdown_timeout = 2s;
    options.admission = shedder_.get();
    auto server = HttpServer::Create(options, std::move(router), registry_);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { server_->Run(false); });
  }
  void TearDown() override {
    parking_.Release();
    if (!thread_.joinable()) return;
    server_->Shutdown();
    thread_.join();
  }
  // Opens a connection whose request to /hold is admitted and parked.
  bool Hold(const std::string& priority) {
    const int before = parking_.parked();
    holders_.push_back(std::make_unique<Client>(server_->port()));
    if (!holders_.back()->Send(Get("/hold", "x-keel-priority: " + priority + "\r\n"))) return false;
    return parking_.WaitParked(before + 1);
  }
  std::optional<HttpResponse> Once(const std::string& request) {
    Client client(server_->port());
    if (!client.Send(request)) return std::nullopt;
    return client.Read();
  }
  std::optional<HttpResponse> GetWithPriority(const std::string& path, const std::string& priority) {
    return Once(Get(path, "x-keel-priority: " + priority + "\r\n"));
  }
  static void ExpectShed(const std::optional<HttpResponse>& res) {
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->status, 503);
    EXPECT_GE(std::stoi(res->header("retry-after")), 1);
    auto body = nlohmann::json::parse(res->body);
    EXPECT_EQ(body.at("code").get<int>(), 503);
    EXPECT_NE(body.at("error").get<std::string>().find("admission"), std::string::npos);
  }

  obs::Registry registry_;
  Parking parking_;
  std::unique_ptr<LoadShedder> shedder_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::vector<std::unique_ptr<Client>> holders_;
};

TEST_F(AdmissionTest, ShedsLowThenNormalThenCriticalAndNeverProbesOrScrapes) {
  Router router;
  ASSERT_TRUE(router.AddAsync(Method::kGet, "/hold", parking_.Handler()).ok());
  // Fixed limit 10: low admitted while inflight < 5, normal < 9, critical < 10.
  Start({.name = "http", .kind = LimitKind::kFixed, .fixed_limit = 10}, std::move(router));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Hold("low")) << i;
  ExpectShed(GetWithPriority("/hold", "low"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Hold("normal")) << i;
  ExpectShed(GetWithPriority("/hold", "normal"));
  ExpectShed(Once(Get("/hold")));  // no header: normal
  ASSERT_TRUE(Hold("critical"));
  ExpectShed(GetWithPriority("/hold", "CRITICAL"));
  EXPECT_EQ(shedder_->inflight(), 10);

  // Saturated, the probes, the scrape and unknown paths still answer.
  auto health = GetWithPriority("/healthz", "low");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  auto ready = Once(Get("/readyz"));
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  auto missing = Once(Get("/nope"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  auto metrics = Once(Get("/metrics"));
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("keel_concurrency_rejected_total{name=\"http\",priority=\"low\"} 1"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("keel_http_requests_total{route=\"/hold\",method=\"GET\",code=\"503\"} 4"),
            std::string::npos)
      << metrics->body;

  // Released, every parked request is answered and its slot comes back.
  parking_.Release();
  for (auto& holder : holders_) {
    auto res = holder->Read();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "released");
  }
  EXPECT_EQ(shedder_->inflight(), 0);
  auto low = GetWithPriority("/hold", "low");
  ASSERT_TRUE(low.has_value());
  EXPECT_EQ(low->status, 200);
}

TEST_F(AdmissionTest, ResponseStatusIsTheLimitsSignal) {
  Router router;
  auto status_route = [&router](const std::string& path, int status) {
    ASSERT_TRUE(router.Add(Method::kGet, path, [status](const Request&, Response& res) {
                        if (status != 200) res.SetError(status, "as asked");
                      }).ok());
  };
  status_route("/ok", 200);
  status_route("/bad", 400);
  status_route("/broken", 500);
  status_route("/busy", 503);
  status_route("/late", 504);
  // AIMD from 4: a drop multiplies the limit by 0.9 (rounded down); a success
  // with one request in flight leaves it (it grows only at half the limit).
  LoadShedderOptions options{.name = "http", .kind = LimitKind::kAimd, .initial_limit = 4};
  options.aimd.backoff_ratio = 0.75;
  Start(options, std::move(router));
  auto status_of = [this](const std::string& path) {
    auto res = Once(Get(path));
    return res ? res->status : 0;
  };
  EXPECT_EQ(status_of("/ok"), 200);
  EXPECT_EQ(shedder_->limit(), 4);
  EXPECT_EQ(status_of("/bad"), 400);  // ignored
  EXPECT_EQ(shedder_->limit(), 4);
  EXPECT_EQ(status_of("/broken"), 500);  // the service's fault, not overload
  EXPECT_EQ(shedder_->limit(), 4);
  EXPECT_EQ(status_of("/busy"), 503);  // a drop: 4 x 0.75
  EXPECT_EQ(shedder_->limit(), 3);
  EXPECT_EQ(status_of("/late"), 504);  // a drop: 3 x 0.75
  EXPECT_EQ(shedder_->limit(), 2);
  EXPECT_EQ(shedder_->inflight(), 0);
}

TEST_F(AdmissionTest, ConnectionClosedWhileParkedReleasesTheSlot) {
  Router router;
  ASSERT_TRUE(router.AddAsync(Method::kGet, "/hold", parking_.Handler()).ok());
  Start({.name = "http", .kind = LimitKind::kFixed, .fixed_limit = 1}, std::move(router));
  ASSERT_TRUE(Hold("critical"));
  ExpectShed(GetWithPriority("/hold", "critical"));
  holders_.clear();  // the client goes away while its request is parked
  parking_.Release();
  // The parked handler answers into a closed connection; its token is freed.
  for (int i = 0; i < 400 && shedder_->inflight() != 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(shedder_->inflight(), 0);
  auto res = GetWithPriority("/hold", "critical");
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 200);
}

}  // namespace
}  // namespace keel::net
