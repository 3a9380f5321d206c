#include "keel/redis/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "keel/base/clock.h"
#include "keel/redis/testing/io_thread.h"
#include "keel/redis/testing/redis_server.h"
#include "keel/redis/testing/sync.h"
#include "metrics_util.h"

namespace keel::redis {
namespace {

using testing::ExecSync;
using testing::IoThread;
using testing::RedisServer;
using namespace std::chrono_literals;

// Polls `pred` every 10 ms for at most `limit`.
template <typename Pred>
bool Eventually(Pred pred, Duration limit = std::chrono::seconds(10)) {
  const auto until = SystemClock::Default().Now() + limit;
  while (SystemClock::Default().Now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
  }
  void TearDown() override {
    loop_.Run([&] { client_.reset(); });
  }

  ClientOptions Options() {
    ClientOptions o;
    o.port = server_->port();
    o.command_timeout = 2s;
    return o;
  }
  void Connect(ClientOptions o) {
    loop_.Run([&] {
      auto c = Client::Create(loop_.io(), o, registry_);
      ASSERT_TRUE(c.ok()) << c.status().message();
      client_ = std::move(*c);
    });
  }
  std::string server() const { return server_->address(); }

  obs::Registry registry_;
  std::unique_ptr<RedisServer> server_;
  IoThread loop_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, RunsCommandsOfEveryReplyType) {
  Connect(Options());
  EXPECT_EQ(client_->ShardOf("any"), "");  // one server: no per-shard state
  auto set = ExecSync(*client_, {"SET", "k", "v"});
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(*set, Reply::StatusReply("OK"));
  EXPECT_EQ(*ExecSync(*client_, {"GET", "k"}), Reply::String("v"));
  EXPECT_EQ(*ExecSync(*client_, {"GET", "missing"}), Reply::Nil());
  EXPECT_EQ(*ExecSync(*client_, {"INCRBY", "n", "41"}), Reply::Integer(41));
  EXPECT_EQ(*ExecSync(*client_, {"RPUSH", "l", "a", "b"}), Reply::Integer(2));
  EXPECT_EQ(*ExecSync(*client_, {"LRANGE", "l", "0", "-1"}),
            Reply::Array({Reply::String("a"), Reply::String("b")}));
  auto wrong = ExecSync(*client_, {"INCR", "l"});
  ASSERT_TRUE(wrong.ok());
  EXPECT_TRUE(wrong->IsErrorCode("WRONGTYPE")) << wrong->DebugString();
  const std::string binary("\0\r\n\xff", 4);
  ASSERT_TRUE(ExecSync(*client_, std::vector<std::string>{"SET", "bin", binary}).ok());
  EXPECT_EQ(*ExecSync(*client_, {"GET", "bin"}), Reply::String(binary));
  EXPECT_EQ(Commands(registry_, server(), "ok"), 8u);
  EXPECT_EQ(Commands(registry_, server(), "error_reply"), 1u);
  EXPECT_EQ(ServerGauge(registry_, "keel_redis_inflight_commands", server()), 0);
}

TEST_F(ClientTest, PipelinesAThousandConcurrentCommands) {
  ClientOptions o = Options();
  o.pool_size = 1;
  Connect(o);
  ASSERT_TRUE(ExecSync(*client_, {"PING"}).ok());
  const std::uint64_t writes_before = ServerCounter(registry_, "keel_redis_writes_total", server());
  constexpr int kN = 1000;
  std::mutex mu;
  std::vector<std::int64_t> results;
  std::promise<void> all;
  std::atomic<int> left{kN};
  // Issued from one handler of the loop: one flush, so one write.
  loop_.Run([&] {
    for (int i = 0; i < kN; ++i) {
      client_->Exec({"INCR", "counter"}, [&](StatusOr<Reply> r) {
        {
          std::lock_guard lock(mu);
          results.push_back(r.ok() && r->type == ReplyType::kInteger ? r->integer : -1);
        }
        if (--left == 0) all.set_value();
      });
    }
  });
  all.get_future().wait();
  std::set<std::int64_t> distinct(results.begin(), results.end());
  ASSERT_EQ(distinct.size(), static_cast<std::size_t>(kN));
  EXPECT_EQ(*distinct.begin(), 1);
  EXPECT_EQ(*distinct.rbegin(), kN);
  const std::uint64_t writes =
      ServerCounter(registry_, "keel_redis_writes_total", server()) - writes_before;
  EXPECT_EQ(writes, 1u) << "1000 commands issued together were not written together";
  // Replies come back in order on the one connection: INCR results ascend.
  EXPECT_TRUE(std::is_sorted(results.begin(), results.end()));
  EXPECT_EQ(*ExecSync(*client_, {"GET", "counter"}), Reply::String(std::to_string(kN)));
}

TEST_F(ClientTest, ExecIsSafeFromManyThreads) {
  Connect(Options());
  constexpr int kThreads = 4, kPerThread = 250;
  std::atomic<int> ok{0}, left{kThreads * kPerThread};
  std::promise<void> all;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        client_->Exec({"INCR", "shared"}, [&](StatusOr<Reply> r) {
          if (r.ok() && r->type == ReplyType::kInteger) ++ok;
          if (--left == 0) all.set_value();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  all.get_future().wait();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(*ExecSync(*client_, {"GET", "shared"}), Reply::String("1000"));
}

TEST_F(ClientTest, TimesOutOnceAndDiscardsTheLateReply) {
  ClientOptions o = Options();
  o.pool_size = 1;
  Connect(o);
  ASSERT_TRUE(ExecSync(*client_, {"SET", "k", "v"}).ok());
  // The server stops answering for 300 ms; the connection stays open.
  ASSERT_TRUE(server_->Call({"CLIENT", "PAUSE", "300"}).ok());
  std::atomic<int> calls{0};
  std::promise<Status> first;
  client_->Exec({"GET", "k"}, {.timeout = 20ms}, [&](StatusOr<Reply> r) {
    if (calls++ == 0) first.set_value(r.status());
  });
  const Status status = first.get_future().get();
  EXPECT_EQ(ErrorKindOf(status), ErrorKind::kTimeout) << status.message();
  EXPECT_NE(status.message().find("20ms"), std::string::npos) << status.message();
  // The reply arrives after the pause and is dropped; the connection stays up.
  ASSERT_TRUE(Eventually(
      [&] { return ServerCounter(registry_, "keel_redis_late_replies_total", server()) == 1; }));
  EXPECT_EQ(*ExecSync(*client_, {"GET", "k"}), Reply::String("v"));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(Commands(registry_, server(), "timeout"), 1u);
  EXPECT_EQ(ServerCounter(registry_, "keel_redis_connection_errors_total", server()), 0u);
  EXPECT_EQ(ServerGauge(registry_, "keel_redis_inflight_commands", server()), 0);
}

TEST_F(ClientTest, FailsInFlightCommandsWhenTheServerDiesAndReconnects) {
  ClientOptions o = Options();
  o.command_timeout = 10s;
  Connect(o);
  ASSERT_TRUE(ExecSync(*client_, {"PING"}).ok());
  EXPECT_EQ(ServerGauge(registry_, "keel_redis_connections", server()), 2);
  ASSERT_TRUE(server_->Call({"CLIENT", "PAUSE", "5000"}).ok());
  std::promise<Status> in_flight;
  client_->Exec({"GET", "k"}, [&](StatusOr<Reply> r) { in_flight.set_value(r.status()); });
  std::this_thread::sleep_for(50ms);  // the GET is written and waits on the paused server
  server_->Kill();
  const Status lost = in_flight.get_future().get();
  EXPECT_EQ(ErrorKindOf(lost), ErrorKind::kConnection) << lost.message();
  EXPECT_NE(lost.message().find("lost"), std::string::npos) << lost.message();
  // While it is down calls fail with a connection error, not after the 10 s timeout.
  auto down = ExecSync(*client_, {"PING"});
  EXPECT_EQ(ErrorKindOf(down.status()), ErrorKind::kConnection) << down.status().message();

  ASSERT_TRUE(server_->Restart().ok());
  EXPECT_TRUE(Eventually([&] {
    auto r = ExecSync(*client_, {"PING"});
    return r.ok() && *r == Reply::StatusReply("PONG");
  }));
  EXPECT_GE(ServerCounter(registry_, "keel_redis_reconnects_total", server()), 1u);
  EXPECT_GE(ServerCounter(registry_, "keel_redis_connection_errors_total", server()), 2u);
  EXPECT_TRUE(
      Eventually([&] { return ServerGauge(registry_, "keel_redis_connections", server()) == 2; }));
}

TEST_F(ClientTest, QueuesCommandsUntilTheFirstConnect) {
  Connect(Options());
  // No wait after Create: the command waits for the connection being opened.
  auto r = ExecSync(*client_, {"ECHO", "hi"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Reply::String("hi"));
}

TEST_F(ClientTest, FailsFastWhenNothingListens) {
  ClientOptions o = Options();
  server_->Stop();
  o.command_timeout = 10s;
  Connect(o);
  auto r = ExecSync(*client_, {"PING"});
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kConnection) << r.status().message();
}

TEST_F(ClientTest, ValidatesOptionsAndCommands) {
  ClientOptions o = Options();
  o.pool_size = 0;
  EXPECT_EQ(Client::Create(loop_.io(), o, registry_).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.port = 0;
  EXPECT_FALSE(Client::Create(loop_.io(), o, registry_).ok());
  o = Options();
  o.command_timeout = Duration::zero();
  EXPECT_FALSE(Client::Create(loop_.io(), o, registry_).ok());
  Connect(Options());
  auto empty = ExecSync(*client_, std::vector<std::string>{});
  EXPECT_EQ(ErrorKindOf(empty.status()), ErrorKind::kInvalid);
}

TEST_F(ClientTest, DestroyingTheClientInACallbackDropsTheOthers) {
  ClientOptions o = Options();
  o.pool_size = 1;
  Connect(o);
  ASSERT_TRUE(ExecSync(*client_, {"PING"}).ok());
  std::atomic<int> calls{0};
  std::promise<void> destroyed;
  loop_.Run([&] {
    for (int i = 0; i < 10; ++i) {
      client_->Exec({"PING"}, [&](StatusOr<Reply>) {
        if (calls++ == 0) {
          client_.reset();
          destroyed.set_value();
        }
      });
    }
  });
  destroyed.get_future().wait();
  loop_.Run([] {});  // whatever the loop had queued has run
  EXPECT_EQ(calls.load(), 1);
}

class AuthTest : public ClientTest {
 protected:
  void SetUp() override {
    testing::RedisServerOptions so;
    so.password = "s3cret";
    auto server = RedisServer::Start(so);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
  }
};

TEST_F(AuthTest, AuthenticatesAndSelectsTheDatabase) {
  ClientOptions o = Options();
  o.password = "s3cret";
  o.db = 3;
  Connect(o);
  ASSERT_EQ(*ExecSync(*client_, {"SET", "k", "v"}), Reply::StatusReply("OK"));
  EXPECT_EQ(*ExecSync(*client_, {"DBSIZE"}), Reply::Integer(1));
  EXPECT_EQ(*server_->Call({"DBSIZE"}), Reply::Integer(0));  // db 0
}

TEST_F(AuthTest, AWrongPasswordFailsTheConnection) {
  ClientOptions o = Options();
  o.password = "wrong";
  Connect(o);
  auto r = ExecSync(*client_, {"PING"});
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kConnection);
  EXPECT_NE(r.status().message().find("AUTH"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace keel::redis
