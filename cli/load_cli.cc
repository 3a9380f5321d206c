#include "load_cli.h"

namespace keel::cli {

CLI::App* AddLoadCommand(CLI::App& app, load::LoadFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "load",
      "Drive an HTTP server or an Envoy rate limit service (rls://): open loop with --rate/--stages, "
      "else closed loop (like wrk).");
  cmd->add_option("url", f.url,
                  "http://HOST:PORT/PATH (templates allowed, e.g. {{seq}}) or rls://HOST:PORT (gRPC ShouldRateLimit)")
      ->required();
  cmd->add_option("-R,--rate", f.rate, "requests/s: R (constant) or R1:R2 (linear ramp over --duration)");
  cmd->add_option("--stages", f.stages, "steps, e.g. 10s@1000,30s@5000,10s@0");
  cmd->add_option("-d,--duration", f.duration, "measured duration (default 10s)");
  cmd->add_option("-c,--connections", f.connections,
                  "keep-alive connections; rls://: gRPC channels (default 64)");
  cmd->add_option("-t,--threads", f.threads, "event-loop threads (default 1)");
  cmd->add_option("-m,--method", f.method, "HTTP method (default GET)");
  cmd->add_option("-H,--header", f.headers, "'Name: value' (repeatable; templates allowed)");
  cmd->add_option("--body", f.body, "request body: text or @FILE (templates allowed)");
  cmd->add_option("--requests", f.requests_file, "file of requests, one 'METHOD TARGET [BODY]' per line");
  cmd->add_option("--warmup", f.warmup, "run this long first without measuring (default 0s)");
  cmd->add_option("--timeout", f.timeout, "per-request timeout (default 2s)");
  cmd->add_option("--json", f.json_file, "write a JSON summary to FILE");
  cmd->add_option("--hlog", f.hlog_file, "write per-second corrected-latency histograms (HdrHistogram log v1.2)");
  cmd->add_option("--timeseries", f.timeseries_file, "write per-second CSV rows to FILE");
  cmd->add_option("--results", f.results_file,
                  "write one CSV line per finished request to FILE: seq,intended_unix_us,status,latency_us,outcome");
  cmd->add_option("--count-within", f.count_within,
                  "latency thresholds, e.g. '50ms,200ms': count answers below 400 within each, per second (le_50ms columns)");
  cmd->add_option("--slo", f.slo, "thresholds, e.g. 'p99<5ms,p99.9<20ms,errors<0.1%,rate>=0.99'");
  cmd->add_option("--domain", f.domain, "rls://: the rate limit domain");
  cmd->add_option("--descriptor", f.descriptors,
                  "rls://: one descriptor, 'k=v,k2={{zipf:1.1:100000}}' (repeatable; templates allowed)");
  cmd->add_option("--hits", f.hits, "rls://: hits_addend (default unset: 1)");
  return cmd;
}

}  // namespace keel::cli
