#include "keel/ratelimit/service.h"

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "admin.h"
#include "admin_http.h"
#include "grpc_server.h"
#include "http_api.h"
#include "redis_backend.h"
#include "keel/obs/log.h"
#include "keel/ratelimit/limiter.h"
#include "keel/ratelimit/rule_config.h"

namespace keel::ratelimit {
namespace {

// Keel's own keys may share the rules file; the rules parser skips them.
const std::vector<std::string> kRuleKeys = {"domain", "descriptors", "fail_mode"};

std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_ino);
}

class Runtime final : public app::Sidecar {
 public:
  Runtime(std::string rules_path, Duration reload_interval, std::unique_ptr<RedisBackend> backend,
          std::unique_ptr<Limiter> limiter, obs::Registry& registry)
      : rules_path_(std::move(rules_path)),
        interval_(reload_interval),
        backend_(std::move(backend)),
        limiter_(std::move(limiter)) {
    auto& reloads = registry.AddCounter("keel_ratelimit_config_reloads_total",
                                        "Rule file reloads by result (ok, failed).", {"result"});
    reload_ok_ = reloads.Get({"ok"});
    reload_failed_ = reloads.Get({"failed"});
    stamp_ = FileStamp(rules_path_);
  }

  Status StartGrpc(const std::string& address, Admin* admin) {
    auto server = GrpcServer::Start(address, *limiter_, admin);
    if (!server.ok()) return server.status();
    grpc_ = std::move(*server);
    const std::string host = address.substr(0, address.rfind(':'));
    obs::Log(obs::LogLevel::kInfo, "grpc listening",
             {{"service", "ratelimit"}, {"grpc", host + ":" + std::to_string(grpc_->port())}});
    return Status::Ok();
  }

  void StartBackground() {
    thread_ = std::thread([this] { Loop(); });
  }

  // Reads the rules file again; keeps the old rules when it is invalid.
  Status Reload() {
    std::lock_guard<std::mutex> lock(reload_mu_);
    stamp_ = FileStamp(rules_path_);
    auto cfg = RuleConfig::Load(rules_path_);
    if (!cfg.ok()) {
      reload_failed_->Inc();
      obs::Log(obs::LogLevel::kError, "rules reload failed; keeping the old rules",
               {{"file", rules_path_}, {"error", cfg.status().message()}});
      return cfg.status();
    }
    limiter_->SetConfig(*cfg);
    reload_ok_->Inc();
    obs::Log(obs::LogLevel::kInfo, "rules reloaded",
             {{"file", rules_path_}, {"rules", static_cast<std::int64_t>((*cfg)->rule_count())}});
    return Status::Ok();
  }

  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (grpc_) grpc_->Shutdown(std::chrono::seconds(5));
    // The front ends are stopped (HTTP drained before Stop): no decision is
    // waiting on Redis any more.
    if (backend_) backend_->Shutdown();
  }

  ~Runtime() override { Stop(); }

  Limiter& limiter() { return *limiter_; }
  Admin* SetAdmin(std::shared_ptr<Admin> admin) {
    admin_ = std::move(admin);
    return admin_.get();
  }
  std::shared_ptr<Admin> admin() { return admin_; }

 private:
  // Sweeps expired keys every 100 ms, 1/64 of the table at a time (a full
  // pass about every 6 s: a faster one would stream the whole table through
  // the cache the workers use, for keys that Insert reuses anyway); checks
  // the rules file every interval.
  void Loop() {
    const std::size_t sweep_budget = std::max<std::size_t>(64, limiter_->store().SlotsPerShard() / 64);
    auto next_check = std::chrono::steady_clock::now() + interval_;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
      lock.unlock();
      limiter_->store().Sweep(SystemClock::Default().Now(), sweep_budget);
      if (std::chrono::steady_clock::now() >= next_check) {
        next_check = std::chrono::steady_clock::now() + interval_;
        std::string stamp = FileStamp(rules_path_);
        bool changed;
        {
          std::lock_guard<std::mutex> r(reload_mu_);
          changed = !stamp.empty() && stamp != stamp_;
        }
        if (changed) (void)Reload();
      }
      lock.lock();
    }
  }

  const std::string rules_path_;
  const Duration interval_;
  std::unique_ptr<RedisBackend> backend_;  // null: embedded store; outlives the limiter
  std::unique_ptr<Limiter> limiter_;
  std::shared_ptr<Admin> admin_;
  std::unique_ptr<GrpcServer> grpc_;
  obs::Counter* reload_ok_ = nullptr;
  obs::Counter* reload_failed_ = nullptr;
  std::mutex reload_mu_;
  std::string stamp_;  // GUARDED_BY(reload_mu_)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read admin token file '" + path + "'");
  std::stringstream s;
  s << in.rdbuf();
  std::string token = s.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < 16) return InvalidArgument("admin token in '" + path + "' is shorter than 16 characters");
  return token;
}

}  // namespace

app::ServiceDef RateLimitService() {
  app::ServiceDef def;
  def.name = "ratelimit";
  def.summary = "rate limiter: Envoy RLS v3 over gRPC, POST /json, five algorithms, embedded store";
  def.foreign_keys = kRuleKeys;
  def.add_keys = [](config::Schema& schema) {
    using config::Type;
    schema.Add({"grpc.listen", Type::kHostPort, "127.0.0.1:8081", "gRPC (Envoy RLS v3) listen address"})
        .Add({"admin.token_file", Type::kString, "", "file with the admin API's bearer token; empty disables it"})
        .Add({"ratelimit.rules", Type::kString, "", "rules file (default: the config file itself)"})
        .Add({"ratelimit.max_keys", Type::kInt, "1000000", "cap on live keys in the embedded store", 1, 1'000'000'000})
        .Add({"ratelimit.shards", Type::kInt, "64", "store shards (a power of two)", 1, 65536})
        .Add({"ratelimit.metric_rules", Type::kInt, "500", "distinct rule keys in metrics before '_other'", 1, 100000})
        .Add({"ratelimit.max_overrides", Type::kInt, "10000", "live admin overrides (per-descriptor limits)", 0, 1000000})
        .Add({"ratelimit.reload_interval", Type::kDuration, "1s", "how often the rules file is checked", 10, 3600000});
    AddRedisStoreKeys(schema);
  };
  def.start = [](const config::Config& cfg, const std::string& config_file,
                 net::Router& router) -> StatusOr<std::unique_ptr<app::Sidecar>> {
    std::string rules_path = cfg.GetString("ratelimit.rules");
    if (rules_path.empty()) rules_path = config_file;
    if (rules_path.empty()) return InvalidArgument("ratelimit: no rules: give --config FILE (or ratelimit.rules)");
    auto rules = RuleConfig::Load(rules_path);
    if (!rules.ok()) return rules.status();
    LimiterOptions opts;
    opts.store.max_keys = static_cast<std::size_t>(cfg.GetInt("ratelimit.max_keys"));
    opts.store.shards = static_cast<std::size_t>(cfg.GetInt("ratelimit.shards"));
    opts.metric_rules = static_cast<std::size_t>(cfg.GetInt("ratelimit.metric_rules"));
    opts.max_overrides = static_cast<std::size_t>(cfg.GetInt("ratelimit.max_overrides"));
    // With Redis, the embedded store holds the local fail mode's state.
    auto store = Store::Create(opts.store);
    if (!store.ok()) return store.status();
    auto backend = RedisBackend::Create(cfg, **store, obs::DefaultRegistry());
    if (!backend.ok()) return backend.status();
    if (*backend) opts.remote = &(*backend)->store();
    auto limiter = Limiter::Create(*rules, opts, std::move(*store), SystemClock::Default(), obs::DefaultRegistry());
    if (!limiter.ok()) return limiter.status();
    auto runtime = std::make_unique<Runtime>(rules_path, cfg.GetDuration("ratelimit.reload_interval"),
                                             std::move(*backend), std::move(*limiter), obs::DefaultRegistry());
    AdminOptions admin_options;
    const std::string token_file = cfg.GetString("admin.token_file");
    if (!token_file.empty()) {
      auto token = ReadToken(token_file);
      if (!token.ok()) return token.status();
      admin_options.token = *token;
    }
    Runtime* rt = runtime.get();
    admin_options.reload = [rt] { return rt->Reload(); };
    // One admin core behind both front ends; the runtime owns it (the gRPC
    // server it stops first uses it).
    Admin* admin = rt->SetAdmin(std::make_shared<Admin>(rt->limiter(), std::move(admin_options), obs::DefaultRegistry()));
    if (Status st = AddHttpApi(router, rt->limiter()); !st.ok()) return st;
    if (Status st = AddAdminHttpApi(router, rt->admin()); !st.ok()) return st;
    const HostPort grpc = cfg.GetHostPort("grpc.listen");
    if (Status st = runtime->StartGrpc(grpc.host + ":" + std::to_string(grpc.port), admin); !st.ok()) return st;
    runtime->StartBackground();
    obs::Log(obs::LogLevel::kInfo, "rules loaded",
             {{"file", rules_path}, {"rules", static_cast<std::int64_t>((*rules)->rule_count())}});
    return std::unique_ptr<app::Sidecar>(std::move(runtime));
  };
  return def;
}

}  // namespace keel::ratelimit
