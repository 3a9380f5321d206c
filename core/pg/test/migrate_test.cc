#include "keel/pg/migrate.h"

#include <gtest/gtest.h>

#include <thread>

#include "pg_env.h"

namespace keel::pg {
namespace {

std::unique_ptr<Connection> Open(const std::string& url) {
  auto c = Connection::Open({.url = url});
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(*c) : nullptr;
}

const std::vector<Migration> kTwo = {
    {1, "init", "CREATE TABLE orders (id text PRIMARY KEY, status text NOT NULL)"},
    {2, "amount", "ALTER TABLE orders ADD COLUMN amount_cents bigint NOT NULL DEFAULT 0"},
};

TEST(PgMigrate, AppliesMissingVersionsOnceInTheSchema) {
  auto c = Open(FreshDatabase());
  ASSERT_NE(c, nullptr);
  auto first = Migrate(*c, "orders", kTwo);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, 2);
  EXPECT_EQ(*Migrate(*c, "orders", kTwo), 0);
  auto three = kTwo;
  three.push_back({3, "index", "CREATE INDEX orders_status ON orders (status)"});
  EXPECT_EQ(*Migrate(*c, "orders", three), 1);
  EXPECT_EQ(*AppliedVersions(*c, "orders"), (std::vector<int>{1, 2, 3}));
  // The tables went into the schema, not public.
  auto r = c->Exec("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'orders' "
                   "AND table_name = 'orders'");
  EXPECT_EQ(r->int64(0, 0), 3);
  // A second schema in the same database keeps its own versions.
  EXPECT_EQ(*Migrate(*c, "inventory", {{1, "init", "CREATE TABLE stock (sku text)"}}), 1);
  EXPECT_EQ(*AppliedVersions(*c, "inventory"), (std::vector<int>{1}));
}

TEST(PgMigrate, RefusesAChangedMigrationAndANewerDatabase) {
  auto c = Open(FreshDatabase());
  ASSERT_TRUE(Migrate(*c, "s", kTwo).ok());
  auto edited = kTwo;
  edited[0].sql += " -- edited";
  auto changed = Migrate(*c, "s", edited);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(changed.status().message().find("changed after it was applied"), std::string::npos);
  auto older = Migrate(*c, "s", {kTwo[0]});
  ASSERT_FALSE(older.ok());
  EXPECT_NE(older.status().message().find("newer than this binary"), std::string::npos);
}

TEST(PgMigrate, AFailingMigrationLeavesNothingBehind) {
  auto c = Open(FreshDatabase());
  std::vector<Migration> bad = {kTwo[0], {2, "broken", "CREATE TABLE half (n int); SELECT 1/0"}};
  auto r = Migrate(*c, "b", bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("migration 2 (broken)"), std::string::npos) << r.status().message();
  EXPECT_EQ(*AppliedVersions(*c, "b"), (std::vector<int>{1}));
  EXPECT_EQ(c->Exec("SELECT to_regclass('b.half') IS NULL")->str(0, 0), "t");
}

TEST(PgMigrate, RejectsBadInput) {
  auto c = Open(FreshDatabase());
  EXPECT_EQ(Migrate(*c, "x", {{0, "zero", "SELECT 1"}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Migrate(*c, "x", {{1, "a", "SELECT 1"}, {1, "b", "SELECT 2"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Migrate(*c, "", kTwo).status().code(), StatusCode::kInvalidArgument);
}

TEST(PgMigrate, ConcurrentStartersApplyEachMigrationOnce) {
  const std::string url = FreshDatabase();
  std::vector<Migration> many;
  for (int v = 1; v <= 10; ++v) {
    many.push_back({v, "m" + std::to_string(v), "CREATE TABLE t" + std::to_string(v) + " (n int)"});
  }
  std::vector<StatusOr<int>> results(4, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto c = Open(url);
      results[i] = Migrate(*c, "race", many);
    });
  }
  for (auto& t : threads) t.join();
  int total = 0;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().message();
    total += *r;
  }
  EXPECT_EQ(total, 10);
}

}  // namespace
}  // namespace keel::pg
