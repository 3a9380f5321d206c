// One PostgreSQL server for the whole test binary; each test makes its own
// database (FreshDatabase).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "keel/pg/testing/postgres_server.h"

namespace keel::pg {

inline testing::PostgresServer* g_server = nullptr;

inline std::string FreshDatabase() {
  static std::atomic<int> n{0};
  auto url = g_server->CreateDatabase("t" + std::to_string(++n));
  EXPECT_TRUE(url.ok()) << url.status().message();
  return url.ok() ? *url : "";
}

}  // namespace keel::pg
