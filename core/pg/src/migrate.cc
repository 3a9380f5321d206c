#include "keel/pg/migrate.h"

#include <algorithm>
#include <set>

namespace keel::pg {

namespace {

Status Check(const std::vector<Migration>& migrations) {
  std::set<int> seen;
  for (const auto& m : migrations) {
    if (m.version <= 0) return InvalidArgument("migration " + m.name + ": version must be > 0");
    if (!seen.insert(m.version).second) {
      return InvalidArgument("migration version " + std::to_string(m.version) + " given twice");
    }
    if (m.sql.empty()) return InvalidArgument("migration " + m.name + " has no SQL");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<int>> AppliedVersions(Connection& conn, std::string_view schema) {
  auto exists = conn.Exec(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = "
      "'schema_migrations'",
      {std::string(schema)});
  if (!exists.ok()) return exists.status();
  std::vector<int> out;
  if (exists->rows() == 0) return out;
  auto r = conn.Exec("SELECT version FROM " + QuoteIdentifier(schema) +
                     ".schema_migrations ORDER BY version");
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) out.push_back(static_cast<int>(r->int64(i, 0)));
  return out;
}

StatusOr<int> Migrate(Connection& conn, std::string_view schema,
                      const std::vector<Migration>& migrations) {
  if (schema.empty()) return InvalidArgument("migrate: empty schema name");
  if (Status s = Check(migrations); !s.ok()) return s;
  std::vector<const Migration*> ordered;
  for (const auto& m : migrations) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration* a, const Migration* b) { return a->version < b->version; });
  const std::string q = QuoteIdentifier(schema);
  const std::string table = q + ".schema_migrations";
  int applied = 0;
  // One transaction for the bookkeeping table, then one per migration; each
  // takes the advisory lock first, so concurrent starters queue up here.
  auto locked = [&](const std::function<Status(Connection&)>& body) {
    return Transact(conn, {}, [&](Connection& c) -> Status {
      auto lock = c.Exec("SELECT pg_advisory_xact_lock(hashtext($1))", {"keel.migrate." + std::string(schema)});
      if (!lock.ok()) return lock.status();
      return body(c);
    });
  };
  Status s = locked([&](Connection& c) {
    return c.Script("CREATE SCHEMA IF NOT EXISTS " + q + "; CREATE TABLE IF NOT EXISTS " + table +
                    " (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
                    "applied_at timestamptz NOT NULL DEFAULT now())");
  });
  if (!s.ok()) return s;
  for (const Migration* m : ordered) {
    bool ran = false;
    s = locked([&](Connection& c) -> Status {
      ran = false;
      auto row = c.Exec("SELECT checksum = md5($2) FROM " + table + " WHERE version = $1",
                        {std::to_string(m->version), m->sql});
      if (!row.ok()) return row.status();
      if (row->rows() == 1) {
        if (!row->boolean(0, 0)) {
          return FailedPrecondition("migration " + std::to_string(m->version) + " (" + m->name +
                                    ") of schema " + std::string(schema) +
                                    " was changed after it was applied; add a new migration instead");
        }
        return Status::Ok();
      }
      if (Status set = c.Script("SET LOCAL search_path = " + q + ", public"); !set.ok()) return set;
      if (Status run = c.Script(m->sql); !run.ok()) {
        return Status(run.code(), "migration " + std::to_string(m->version) + " (" + m->name +
                                      "): " + run.message());
      }
      auto rec = c.Exec("INSERT INTO " + table + " (version, name, checksum) VALUES ($1, $2, md5($3))",
                        {std::to_string(m->version), m->name, m->sql});
      if (!rec.ok()) return rec.status();
      ran = true;
      return Status::Ok();
    });
    if (!s.ok()) return s;
    if (ran) ++applied;
  }
  auto versions = AppliedVersions(conn, schema);
  if (!versions.ok()) return versions.status();
  const int newest_known = ordered.empty() ? 0 : ordered.back()->version;
  if (!versions->empty() && versions->back() > newest_known) {
    return FailedPrecondition("schema " + std::string(schema) + " is at migration " +
                              std::to_string(versions->back()) + ", newer than this binary's " +
                              std::to_string(newest_known) + "; run a newer keel");
  }
  return applied;
}

}  // namespace keel::pg
