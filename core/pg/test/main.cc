#include <gtest/gtest.h>

#include "pg_env.h"

namespace {

class ServerEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    auto s = keel::pg::testing::PostgresServer::Start();
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
    keel::pg::g_server = server_.get();
  }
  void TearDown() override {
    keel::pg::g_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<keel::pg::testing::PostgresServer> server_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ServerEnv());
  return RUN_ALL_TESTS();
}
