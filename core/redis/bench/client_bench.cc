// Pipelining throughput of one Client: INCRs against a fresh redis-server
// with a fixed number of calls in flight (a new one issued as each completes).
//
//   build/core/redis/redis_client_bench [in_flight=64] [pool_size=1] [calls=300000]
//
// Compare with `redis-benchmark -t incr -c 50 -q` (unpipelined); docs/redis.md
// has the figures of one run.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "keel/redis/client.h"
#include "keel/redis/testing/redis_server.h"

int main(int argc, char** argv) {
  using namespace keel::redis;
  const int in_flight = argc > 1 ? std::atoi(argv[1]) : 64;
  const int pool = argc > 2 ? std::atoi(argv[2]) : 1;
  const int total = argc > 3 ? std::atoi(argv[3]) : 300000;
  auto server = testing::RedisServer::Start();
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().message().c_str());
    return 1;
  }
  boost::asio::io_context io;
  keel::obs::Registry registry;
  ClientOptions options;
  options.port = (*server)->port();
  options.pool_size = static_cast<std::size_t>(pool);
  auto client = Client::Create(io, options, registry);
  if (!client.ok()) return 1;
  int sent = 0, done = 0, errors = 0;
  std::function<void()> send = [&] {
    ++sent;
    (*client)->Exec({"INCR", "bench"}, [&](keel::StatusOr<Reply> r) {
      if (!r.ok()) ++errors;
      if (++done == total) return io.stop();
      if (sent < total) send();
    });
  };
  const auto start = std::chrono::steady_clock::now();
  boost::asio::post(io, [&] {
    for (int i = 0; i < in_flight && sent < total; ++i) send();
  });
  io.run();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("in_flight=%d pool=%d calls=%d: %.0f calls/s, %d errors\n", in_flight, pool, total,
              total / seconds, errors);
  client->reset();
  return errors == 0 ? 0 : 1;
}
