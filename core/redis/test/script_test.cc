#include "keel/redis/script.h"

#include <gtest/gtest.h>

#include "keel/redis/client.h"
#include "keel/redis/testing/io_thread.h"
#include "keel/redis/testing/redis_server.h"
#include "keel/redis/testing/sync.h"

namespace keel::redis {
namespace {

using testing::EvalShaSync;
using testing::IoThread;
using testing::RedisServer;

// calls=N of a command in INFO commandstats ("cmdstat_evalsha:calls=3,...").
int Calls(RedisServer& server, const std::string& command) {
  auto info = server.Call({"INFO", "commandstats"});
  if (!info.ok()) return -1;
  const std::string needle = "cmdstat_" + command + ":calls=";
  const auto at = info->str.find(needle);
  if (at == std::string::npos) return 0;
  return std::stoi(info->str.substr(at + needle.size()));
}

class ScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
    ClientOptions o;
    o.port = server_->port();
    o.command_timeout = std::chrono::seconds(2);
    loop_.Run([&] { client_ = Client::Create(loop_.io(), o, registry_).value(); });
  }
  void TearDown() override { loop_.Run([&] { client_.reset(); }); }

  obs::Registry registry_;
  std::unique_ptr<RedisServer> server_;
  IoThread loop_;
  std::unique_ptr<Client> client_;
};

const auto kEcho = std::make_shared<Script>("return {KEYS[1], ARGV[1], #KEYS, #ARGV}");

TEST_F(ScriptTest, LoadsOnceThenRunsBySha) {
  auto script = std::make_shared<Script>("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  for (int i = 1; i <= 5; ++i) {
    auto r = EvalShaSync(*client_, script, {"n"}, {"10"});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, Reply::Integer(10 * i));
  }
  EXPECT_EQ(script->sha().size(), 40u);
  EXPECT_EQ(Calls(*server_, "script|load"), 1);
  EXPECT_EQ(Calls(*server_, "evalsha"), 5);
}

TEST_F(ScriptTest, PassesKeysAndArguments) {
  auto r = EvalShaSync(*client_, kEcho, {"k1", "k2"}, {"a1", "a2", "a3"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Reply::Array({Reply::String("k1"), Reply::String("a1"), Reply::Integer(2),
                              Reply::Integer(3)}));
}

TEST_F(ScriptTest, ReloadsAfterScriptFlush) {
  auto script = std::make_shared<Script>("return 7");
  ASSERT_EQ(*EvalShaSync(*client_, script, {"k"}, {}), Reply::Integer(7));
  ASSERT_TRUE(server_->Call({"SCRIPT", "FLUSH"}).ok());
  auto r = EvalShaSync(*client_, script, {"k"}, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Reply::Integer(7));
  EXPECT_EQ(Calls(*server_, "script|load"), 2);
  EXPECT_EQ(Calls(*server_, "evalsha"), 3);  // ok, NOSCRIPT, ok
}

TEST_F(ScriptTest, PassesScriptErrorsThrough) {
  auto bad = std::make_shared<Script>("return redis.call('INCR')");
  auto r = EvalShaSync(*client_, bad, {"k"}, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->is_error()) << r->DebugString();
  auto syntax = std::make_shared<Script>("this is not lua");
  auto s = EvalShaSync(*client_, syntax, {"k"}, {});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->is_error()) << s->DebugString();  // SCRIPT LOAD's compile error
  EXPECT_TRUE(syntax->sha().empty());
}

}  // namespace
}  // namespace keel::redis
