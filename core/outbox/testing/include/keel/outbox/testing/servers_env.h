// One PostgreSQL and one nats-server for a whole GoogleTest binary (the
// outbox and inbox tests): register ServersEnv in main(), reach the servers
// through g_pg and g_nats; each test makes its own database and stream.
#pragma once

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <memory>

#include "keel/nats/testing/nats_server.h"
#include "keel/pg/testing/postgres_server.h"

namespace keel::outbox::testing {

inline pg::testing::PostgresServer* g_pg = nullptr;
inline nats::testing::NatsServer* g_nats = nullptr;

class ServersEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    auto p = pg::testing::PostgresServer::Start();
    ASSERT_TRUE(p.ok()) << p.status().message();
    pg_ = std::move(*p);
    auto n = nats::testing::NatsServer::Start();
    ASSERT_TRUE(n.ok()) << n.status().message();
    nats_ = std::move(*n);
    g_pg = pg_.get();
    g_nats = nats_.get();
  }
  void TearDown() override {
    g_pg = nullptr;
    g_nats = nullptr;
    nats_.reset();
    pg_.reset();
    nats_CloseAndWait(2000);  // libnats' own threads, so leak checkers stay quiet
  }

 private:
  std::unique_ptr<pg::testing::PostgresServer> pg_;
  std::unique_ptr<nats::testing::NatsServer> nats_;
};

}  // namespace keel::outbox::testing
