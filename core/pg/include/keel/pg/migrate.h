// Versioned schema migrations, applied at a service's start.
//
//   std::vector<pg::Migration> m = {{1, "init", "CREATE TABLE orders (...)"},
//                                   {2, "outbox", "CREATE TABLE outbox (...)"}};
//   auto applied = pg::Migrate(conn, "orders", m);   // how many were new
//
// Each service owns one schema; its table <schema>.schema_migrations records
// (version, name, md5 of the SQL, applied_at). Migrate creates the schema
// when missing, takes a transaction-level advisory lock on the schema's name
// (two instances starting together apply each migration once) and applies
// the missing versions in order, each in its own transaction with
// search_path set to the schema. It refuses (FailedPrecondition) when an
// applied migration's SQL has changed since, or when the database is at a
// version this binary does not know (it is older than the schema).
//
// Thread-safety: as the Connection's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "keel/base/status.h"
#include "keel/pg/pg.h"

namespace keel::pg {

struct Migration {
  int version = 0;  // > 0, unique, applied in increasing order
  std::string name;
  std::string sql;  // one or more statements
};

StatusOr<int> Migrate(Connection& conn, std::string_view schema,
                      const std::vector<Migration>& migrations);

// The schema's applied versions, in order (empty when it has none).
StatusOr<std::vector<int>> AppliedVersions(Connection& conn, std::string_view schema);

}  // namespace keel::pg
