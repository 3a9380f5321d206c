// The `keel` binary: one entry point, subcommands dispatch to services and tools.
//
// Usage errors (unknown command or flag, bad value) print one line naming the
// problem and exit with code 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <string>

#include "keel/app/serve.h"
#include "chaos_cli.h"
#include "lab_cli.h"
#include "load_cli.h"
#include "report_cli.h"
#include "keel/ratelimit/rule_config.h"
#include "keel/ratelimit/service.h"
#include "keel/paymentsim/service.h"
#include "keel/relay/service.h"
#include "keel/inventory/service.h"
#include "keel/orders/service.h"
#include "keel/ordercheck/check.h"
#include "keel/payments/service.h"
#include "keel/shop/service.h"
#include "keel/services/hello.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0"
#endif

namespace {

constexpr int kUsageError = 2;

std::map<std::string, keel::app::ServiceDef> Services() {
  std::map<std::string, keel::app::ServiceDef> services;
  auto hello = keel::services::HelloService();
  services.emplace(hello.name, hello);
  auto ratelimit = keel::ratelimit::RateLimitService();
  services.emplace(ratelimit.name, ratelimit);
  auto relay = keel::relay::RelayService();
  services.emplace(relay.name, relay);
  auto paymentsim = keel::paymentsim::PaymentSimService();
  services.emplace(paymentsim.name, paymentsim);
  for (auto def : {keel::orders::OrdersService(), keel::inventory::InventoryService(),
                   keel::payments::PaymentsService(), keel::shop::ShopService()}) {
    services.emplace(def.name, def);
  }
  return services;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "keel: error: %s (see 'keel help')\n", message.c_str());
  return kUsageError;
}

// CLI11 messages may span lines; the contract is one line.
std::string OneLine(std::string s) {
  for (auto& c : s) {
    if (c == '\n') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const auto services = Services();
  CLI::App app{"Keel: classic distributed systems in C++, and the lab that proves them.", "keel"};
  app.require_subcommand(1);
  app.fallthrough(false);

  app.add_subcommand("version", "Print the version and exit.");

  CLI::App* help = app.add_subcommand("help", "Show help for a command: keel help <command>.");
  std::string help_topic;
  help->add_option("command", help_topic, "command to explain");

  CLI::App* serve = app.add_subcommand("serve", "Run a service: keel serve <service> [flags].");
  std::string service_name;
  keel::app::ServeFlags flags;
  std::string service_list;
  for (const auto& [name, def] : services) service_list += "\n  " + name + "  " + def.summary;
  serve->add_option("service", service_name, "service to run:" + service_list)->required();
  serve->add_option("-c,--config", flags.config_file, "YAML config file (or KEEL_CONFIG)");
  serve->add_option("--http", flags.http, "HTTP listen address HOST:PORT (http.listen)");
  serve->add_option("--threads", flags.threads, "worker threads (http.threads)");
  serve->add_option("--log-level", flags.log_level, "debug|info|warn|error (log.level)");
  serve->add_option("--access-log", flags.access_log, "true|false: log every request (log.access)");
  serve->add_option("--grpc", flags.grpc, "gRPC listen address HOST:PORT, for services that serve gRPC (grpc.listen)");
  serve->add_option("--admin-token-file", flags.admin_token_file,
                    "file holding the admin API's bearer token (admin.token_file)");
  serve->add_option("--store", flags.store,
                    "shared state: redis://HOST:PORT or redis-cluster://H1:P1,H2:P2 (redis.url); "
                    "default: in process");
  serve->add_option("--set", flags.sets, "override any config key: --set http.idle_timeout=30s");


  keel::load::LoadFlags load_flags;
  keel::cli::AddLoadCommand(app, load_flags);
  CLI::App* ratelimit_cmd = app.add_subcommand("ratelimit", "Rate limiter tools: keel ratelimit validate FILE.");
  ratelimit_cmd->require_subcommand(1);
  CLI::App* validate = ratelimit_cmd->add_subcommand("validate", "Check a rules file and explain its errors.");
  std::string rules_file;
  validate->add_option("file", rules_file, "rules file (envoyproxy/ratelimit format + Keel's extensions)")->required();

  keel::orders::DlqFlags dlq_flags;
  CLI::App* orders_cmd = app.add_subcommand("orders", "Orders saga tools: keel orders dlq list|replay, keel orders check.");
  orders_cmd->require_subcommand(1);
  CLI::App* dlq_cmd = orders_cmd->add_subcommand("dlq", "The saga's dead letters (JetStream stream SAGA_DLQ).");
  dlq_cmd->require_subcommand(1);
  dlq_cmd->add_option("--nats", dlq_flags.nats_url, "NATS server (nats.url; default KEEL_NATS_URL or nats://127.0.0.1:4222)");
  CLI::App* dlq_list = dlq_cmd->add_subcommand("list", "List dead letters: sequence, consumer, subject, error.");
  dlq_list->add_flag("--json", dlq_flags.json, "one JSON object per line");
  CLI::App* dlq_replay = dlq_cmd->add_subcommand("replay", "Publish dead letters to their subject again and remove them.");
  dlq_replay->add_option("sequence", dlq_flags.sequence, "the DLQ sequence to replay, or 'all'")->required();
  keel::ordercheck::CheckFlags check_flags;
  CLI::App* check_cmd = orders_cmd->add_subcommand(
      "check", "Judge the saga's invariants on its databases (exit 0 hold, 1 violated, 2 bad flag, 3 unreadable).");
  check_cmd->add_option("--postgres", check_flags.postgres_url,
                        "database of all three schemas (postgres.url; default KEEL_POSTGRES_URL)");
  check_cmd->add_option("--orders-db", check_flags.orders_url, "the orders schema's database, when separate");
  check_cmd->add_option("--inventory-db", check_flags.inventory_url, "the inventory schema's database, when separate");
  check_cmd->add_option("--payments-db", check_flags.payments_url, "the payments schema's database, when separate");
  check_cmd->add_option("--step-timeout", check_flags.step_timeout, "the services' orders.step_timeout (default 30s)");
  check_cmd->add_option("--grace", check_flags.grace, "slack on every deadline: sweeps and clocks (default 5s)");
  check_cmd->add_option("--settle", check_flags.settle,
                        "re-read once a second until the invariants hold or this long passed (default 0s)");
  check_cmd->add_option("--examples", check_flags.examples, "violations shown per invariant (default 5)");
  check_cmd->add_flag("--json", check_flags.json, "the report as JSON");

  keel::lab::LabFlags lab_flags;
  keel::cli::AddLabCommand(app, lab_flags);
  keel::cli::ReportFlags report_flags;
  keel::cli::AddReportCommand(app, report_flags);
  keel::chaos::ChaosFlags chaos_flags;
  keel::cli::AddChaosCommand(app, chaos_flags);

  if (argc >= 2 && argv[1][0] != '-') {
    std::string command = argv[1];
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known |= sub->get_name() == command;
    }
    if (!known) return UsageError("unknown command '" + command + "'");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return UsageError(OneLine(e.what()));
  }

  if (app.got_subcommand("version")) {
    std::printf("keel %s\n", KEEL_VERSION);
    return 0;
  }
  if (app.got_subcommand("help")) {
    if (help_topic.empty()) {
      std::printf("%s", app.help().c_str());
      return 0;
    }
    CLI::App* sub = nullptr;
    try {
      sub = app.get_subcommand(help_topic);
    } catch (const CLI::OptionNotFound&) {
      return UsageError("unknown command '" + help_topic + "'");
    }
    std::printf("%s", sub->help().c_str());
    return 0;
  }
  if (app.got_subcommand("load")) return keel::load::RunLoadCommand(load_flags);
  if (app.got_subcommand("lab")) return keel::lab::RunLabCommand(lab_flags);
  if (app.got_subcommand("orders")) {
    if (check_cmd->parsed()) return keel::ordercheck::RunCheckCommand(check_flags);
    dlq_flags.command = dlq_list->parsed() ? "list" : "replay";
    return keel::orders::RunDlqCommand(dlq_flags);
  }
  if (app.got_subcommand("ratelimit")) {
    auto rules = keel::ratelimit::RuleConfig::Load(rules_file);
    if (!rules.ok()) {
      std::fprintf(stderr, "keel: error: %s\n", OneLine(rules.status().message()).c_str());
      return kUsageError;
    }
    std::printf("%s: OK: %zu domain(s), %zu rule(s)\n", rules_file.c_str(), (*rules)->domains().size(),
                (*rules)->rule_count());
    return 0;
  }
  if (app.got_subcommand("report")) return keel::cli::RunReportCommand(report_flags);
  if (app.got_subcommand("chaos")) return keel::chaos::RunChaosCommand(chaos_flags);
  if (app.got_subcommand("serve")) {
    auto it = services.find(service_name);
    if (it == services.end()) {
      std::string names;
      for (const auto& [name, def] : services) names += (names.empty() ? "" : ", ") + name;
      return UsageError("unknown service '" + service_name + "' (available: " + names + ")");
    }
    return keel::app::Serve(it->second, flags);
  }
  return UsageError("no command given");
}
