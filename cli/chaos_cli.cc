#include "chaos_cli.h"

namespace keel::cli {

CLI::App* AddChaosCommand(CLI::App& app, chaos::ChaosFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "chaos", "TCP fault-injection proxy with a Toxiproxy 2.x compatible HTTP API.");
  cmd->add_option("--api", f.api, "API listen address HOST:PORT (default 127.0.0.1:8474)");
  cmd->add_option("-c,--config", f.config, "JSON or YAML array of proxies to create at start");
  cmd->add_option("--threads", f.threads, "proxy event-loop threads (default 1)");
  cmd->add_option("--log-level", f.log_level, "debug|info|warn|error (default info)");
  cmd->add_option("--seed", f.seed, "seed for toxicity, jitter and slicer draws (default: clock)");
  return cmd;
}

}  // namespace keel::cli
