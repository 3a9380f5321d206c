// `keel load URL [flags]`: flags in, report out, exit code back. URL is
// http://HOST[:PORT][/PATH] or rls://HOST:PORT (Envoy RLS v3 over gRPC, with
// --domain and --descriptor).
//
// Exit codes: 0 when the run finished and every --slo bound held, 1 when a
// bound broke (the report says which and when) or the --results file could
// not be written completely, 2 for bad flags or an unreachable target name
// (one line on stderr).
#pragma once

#include <string>
#include <vector>

namespace keel::load {

// Flag values as typed; empty means "not given".
struct LoadFlags {
  std::string url;
  std::string rate;         // "R" or "R1:R2"
  std::string stages;       // "10s@1000,30s@5000"
  std::string duration = "10s";
  int connections = 64;
  int threads = 1;
  std::string method = "GET";
  std::vector<std::string> headers;  // "K: V"
  std::string body;                  // text or @FILE
  std::string requests_file;
  std::string warmup = "0s";
  std::string timeout = "2s";
  std::string json_file, hlog_file, timeseries_file;
  std::string results_file;  // one CSV line per finished request (results_writer.h)
  std::string slo;
  std::string count_within;  // "50ms,200ms": per-second good answers within each
  // rls:// only.
  std::string domain;
  std::vector<std::string> descriptors;  // each "k=v,k2={{seq}}": one RateLimitDescriptor
  int hits = 0;                          // hits_addend; 0 leaves it unset
};

int RunLoadCommand(const LoadFlags& flags);

}  // namespace keel::load
