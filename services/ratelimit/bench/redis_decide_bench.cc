// Decisions/s of the Limiter on a RedisStore, without HTTP in the way: one
// io thread keeps --inflight decisions outstanding (each one's done starts
// the next), over --keys uniformly random descriptors (as redis-benchmark's
// -r), token bucket, a limit no load reaches. What Keel's automatic
// pipelining gets out of one Redis; bench/ratelimit_redis.sh runs it beside
// redis-benchmark on the same Redis and script. With --rate R it runs open
// loop instead: R decisions/s on a fixed schedule (a timer at each next
// intended start issues those due), each latency measured from its intended start, so a stall is not
// hidden by the decisions it delayed (no coordinated omission).
//
//   redis_decide_bench --port 6379 [--inflight 128] [--seconds 5] [--keys 100000]
//   redis_decide_bench --port 6379 --rate 30000 [--seconds 5]
//
// Prints one line: "decisions_per_s p50_us p99_us degraded".
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keel/ratelimit/limiter.h"
#include "keel/ratelimit/rule_config.h"
#include "keel/ratelimit/store.h"
#include "keel/redis/client.h"
#include "redis_store.h"

namespace {

using keel::ratelimit::Limiter;
using keel::ratelimit::RateLimitInput;
using keel::ratelimit::RateLimitOutput;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kRules = R"(
domain: bench
descriptors:
  - key: user
    rate_limit: {unit: second, requests_per_unit: 1000000000, algorithm: token_bucket}
    fail_mode: local
)";

struct Args {
  int port = 6379;
  int inflight = 128;
  double seconds = 5;
  int keys = 100000;
  double rate = 0;  // > 0: open loop at this many decisions/s
};

[[noreturn]] void Usage(const char* problem) {
  std::fprintf(stderr, "redis_decide_bench: %s\nusage: redis_decide_bench --port P [--inflight N] "
                       "[--seconds S] [--keys K]\n", problem);
  std::exit(2);
}

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) Usage("a flag without its value");
    const std::string_view value = argv[++i];
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || v <= 0) Usage("a value is not a positive number");
    if (flag == "--port") a.port = static_cast<int>(v);
    else if (flag == "--inflight") a.inflight = static_cast<int>(v);
    else if (flag == "--seconds") a.seconds = v;
    else if (flag == "--keys") a.keys = static_cast<int>(v);
    else if (flag == "--rate") a.rate = v;
    else Usage("unknown flag");
  }
  if (a.port > 65535) Usage("--port out of range");
  return a;
}

// One outstanding decision, reissued from its own done.
struct Slot {
  std::string value;
  keel::ratelimit::DescriptorEntry entry;
  RateLimitInput input;
  RateLimitOutput output;
  SteadyClock::time_point sent;
};

struct Run {
  Limiter* limiter = nullptr;
  SteadyClock::time_point deadline;
  std::mt19937_64 rng{42};
  int keys = 0;
  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<float> latencies_us;  // one per decision
  std::size_t completed = 0;
  std::size_t errors = 0;
  int outstanding = 0;
  std::promise<void> finished;
  // Open loop: free slots, the schedule, its tick.
  double rate = 0;
  std::vector<Slot*> free_slots;
  SteadyClock::time_point start;
  std::uint64_t issued = 0;
  std::unique_ptr<boost::asio::steady_timer> tick;

  void Issue(Slot& s, SteadyClock::time_point intended = SteadyClock::now()) {
    s.value = "u" + std::to_string(rng() % static_cast<std::uint64_t>(keys));
    s.entry = {"user", s.value};
    s.input.domain = "bench";
    s.input.descriptors.assign(1, {{s.entry}, std::nullopt, std::nullopt});
    s.sent = intended;
    ++outstanding;
    limiter->DecideAsync(s.input, &s.output, [this, &s](keel::Status st) {
      const auto now = SteadyClock::now();
      --outstanding;
      ++completed;
      if (!st.ok()) ++errors;
      latencies_us.push_back(std::chrono::duration<float, std::micro>(now - s.sent).count());
      if (rate > 0) {
        free_slots.push_back(&s);
        if (!tick && outstanding == 0) finished.set_value();
      } else if (now < deadline) {
        Issue(s);
      } else if (outstanding == 0) {
        finished.set_value();
      }
    });
  }

  // Issues every decision due by now, then re-arms for the next one's start.
  void Tick() {
    const auto now = SteadyClock::now();
    const auto end = std::min(now, deadline);
    const double due = std::chrono::duration<double>(end - start).count() * rate;
    while (static_cast<double>(issued) < due) {
      const auto intended = start + std::chrono::duration_cast<SteadyClock::duration>(
                                        std::chrono::duration<double>(static_cast<double>(issued) / rate));
      ++issued;
      if (free_slots.empty()) {
        slots.push_back(std::make_unique<Slot>());
        free_slots.push_back(slots.back().get());
      }
      Slot* s = free_slots.back();
      free_slots.pop_back();
      Issue(*s, intended);
    }
    if (now >= deadline) {
      tick.reset();
      if (outstanding == 0) finished.set_value();
      return;
    }
    tick->expires_at(start + std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(issued) / rate)));
    tick->async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Tick();
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  keel::obs::Registry registry;

  auto rules = keel::ratelimit::RuleConfig::Parse(kRules, "bench.yaml");
  auto local = keel::ratelimit::Store::Create({.max_keys = 1 << 17, .shards = 4});
  if (!rules.ok() || !local.ok()) Usage("internal: rules or store");
  keel::redis::ClientOptions co;
  co.port = static_cast<std::uint16_t>(args.port);
  co.command_timeout = std::chrono::milliseconds(200);
  std::unique_ptr<keel::redis::Client> client;
  std::unique_ptr<keel::ratelimit::RedisStore> store;
  std::unique_ptr<Limiter> limiter;
  Run run;
  std::promise<void> created;
  boost::asio::post(io, [&] {
    auto c = keel::redis::Client::Create(io, co, registry);
    if (!c.ok()) Usage(c.status().message().c_str());
    client = std::move(*c);
    keel::ratelimit::RedisStoreOptions so;
    so.timeout = std::chrono::milliseconds(200);  // throughput, not the fail mode
    so.hot_key_factor = 0;
    auto s = keel::ratelimit::RedisStore::Create(*client, **local, so, keel::SystemClock::Default(), registry);
    if (!s.ok()) Usage(s.status().message().c_str());
    store = std::move(*s);
    keel::ratelimit::LimiterOptions lo;
    lo.remote = store.get();
    auto l = Limiter::Create(*rules, lo, std::move(*local), keel::SystemClock::Default(), registry);
    if (!l.ok()) Usage(l.status().message().c_str());
    limiter = std::move(*l);
    created.set_value();
  });
  created.get_future().wait();
  // Let the pool connect and the script load before the clock starts.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  run.limiter = limiter.get();
  run.keys = args.keys;
  run.rate = args.rate;
  run.latencies_us.reserve(1 << 22);
  auto done = run.finished.get_future();
  const auto start = SteadyClock::now();
  boost::asio::post(io, [&] {
    run.deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                            std::chrono::duration<double>(args.seconds));
    if (run.rate > 0) {
      run.start = SteadyClock::now();
      run.tick = std::make_unique<boost::asio::steady_timer>(io);
      run.Tick();
      return;
    }
    for (int i = 0; i < args.inflight; ++i) run.slots.push_back(std::make_unique<Slot>());
    for (auto& s : run.slots) run.Issue(*s);
  });
  done.wait();
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();

  std::promise<void> destroyed;
  boost::asio::post(io, [&] {
    limiter.reset();
    store.reset();
    client.reset();
    destroyed.set_value();
  });
  destroyed.get_future().wait();
  guard.reset();
  io.stop();
  io_thread.join();

  auto& lat = run.latencies_us;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) { return lat.empty() ? 0.0 : lat[static_cast<std::size_t>(q * (lat.size() - 1))]; };
  const double degraded = registry.AddCounter("keel_ratelimit_degraded_decisions_total", "", {"fail_mode"})
                              .Get({"local"})
                              ->Value();
  std::printf("%.0f %.0f %.0f %.0f\n", static_cast<double>(run.completed) / elapsed, pct(0.5), pct(0.99),
              degraded + static_cast<double>(run.errors));
  return 0;
}
