#include "keel/pg/testing/postgres_server.h"

#include <libpq-fe.h>
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "keel/base/clock.h"
#include "keel/testing/process.h"

namespace keel::pg::testing {

namespace fs = std::filesystem;
using keel::testing::ChownTree;
using keel::testing::FreePort;
using keel::testing::MakeTempDir;
using keel::testing::Reaped;
using keel::testing::Run;
using keel::testing::Spawn;
using keel::testing::Tail;
using keel::testing::Terminate;
using keel::testing::UnprivilegedUser;

namespace {

// The newest /usr/lib/postgresql/*/bin holding postgres and initdb.
StatusOr<std::string> FindBin() {
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto bin = entry.path() / "bin";
    if (!fs::exists(bin / "postgres") || !fs::exists(bin / "initdb")) continue;
    const int v = std::atoi(entry.path().filename().c_str());
    if (v > best_version) {
      best_version = v;
      best = bin.string();
    }
  }
  if (best.empty()) return NotFound("no PostgreSQL server under /usr/lib/postgresql (apt install postgresql-15)");
  return best;
}

}  // namespace

StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  auto bin = FindBin();
  if (!bin.ok()) return bin.status();
  s->bin_ = *bin;
  auto dir = MakeTempDir("keel-pg-");
  if (!dir.ok()) return dir.status();
  s->dir_ = *dir;
  s->user_ = UnprivilegedUser("postgres");
  if (Status c = ChownTree(s->dir_, s->user_); !c.ok()) return c;
  const std::string log = s->dir_ + "/initdb.log";
  auto rc = Run({s->bin_ + "/initdb", "-D", s->dir_ + "/data", "-U", "keel", "-A", "trust", "-E",
                 "UTF8", "--no-sync", "--no-instructions"},
                log, std::chrono::seconds(120), s->user_);
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return Unavailable("initdb failed (exit " + std::to_string(*rc) + "): " + Tail(log));
  auto port = FreePort(false);
  if (!port.ok()) return port.status();
  s->port_ = *port;
  if (Status l = s->Launch(); !l.ok()) return l;
  return s;
}

PostgresServer::~PostgresServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string PostgresServer::url(const std::string& db) const {
  return "postgresql://keel@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

Status PostgresServer::Launch() {
  auto pid = Spawn({bin_ + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k",
                    dir_, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                    "full_page_writes=off", "-c", "max_connections=200", "-c",
                    "log_min_messages=warning", "-c", "max_prepared_transactions=0"},
                   dir_ + "/postgres.log", user_);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return WaitReady(std::chrono::seconds(60));
}

Status PostgresServer::WaitReady(Duration timeout) {
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) +
                               " user=keel dbname=postgres connect_timeout=2";
  const auto until = SystemClock::Default().Now() + timeout;
  while (SystemClock::Default().Now() < until) {
    int status = 0;
    if (Reaped(pid_, &status)) {
      pid_ = -1;
      return Unavailable("postgres exited at start: " + Tail(dir_ + "/postgres.log"));
    }
    if (PQping(conninfo.c_str()) == PQPING_OK) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Unavailable("postgres not ready within " + FormatDuration(timeout) + ": " +
                     Tail(dir_ + "/postgres.log"));
}

StatusOr<std::string> PostgresServer::CreateDatabase(const std::string& name) {
  PGconn* c = PQconnectdb(("host=127.0.0.1 port=" + std::to_string(port_) +
                           " user=keel dbname=postgres connect_timeout=5")
                              .c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = PQerrorMessage(c);
    PQfinish(c);
    return Unavailable("connect: " + why);
  }
  PGresult* r = PQexec(c, ("CREATE DATABASE \"" + name + "\"").c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string why = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok) return Unavailable("CREATE DATABASE " + name + ": " + why);
  return url(name);
}

void PostgresServer::Stop() {
  if (pid_ > 0) {
    Terminate(pid_, SIGINT, std::chrono::seconds(30));
    pid_ = -1;
  }
}

Status PostgresServer::Resume() {
  if (pid_ > 0) return Status::Ok();
  return Launch();
}

Status PostgresServer::Restart() {
  Stop();
  return Launch();
}

Status PostgresServer::Crash() {
  if (pid_ > 0) {
    Terminate(pid_, SIGKILL, std::chrono::seconds(10));
    pid_ = -1;
  }
  // The killed postmaster's children notice and exit; the new one waits
  // for the old shared memory to be released.
  return Launch();
}

}  // namespace keel::pg::testing
