// libFuzzer target for the payment provider simulator (services/paymentsim):
// a sequence of API calls against one Simulator, so state (intents,
// idempotency keys, captures, refunds) is exercised, not only parsing.
//
// The input is split on '\n' into calls; each call's first byte picks the
// endpoint, its second an idempotency key (of 4, or none), the rest is the
// body. Every answer must be a status in 200..599 with a JSON object body;
// the counters in GET /v1/stats must stay consistent (no more captures than
// authorizations, no more refunds than captures).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "simulator.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "paymentsim_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using keel::net::Method;
  keel::paymentsim::Simulator sim({.decline_rate = 0.2, .error_rate = 0.1, .max_idempotency_keys = 8,
                                   .max_intents = 8},
                                  keel::paymentsim::Simulator::SeededUniform(1));
  std::string_view in(reinterpret_cast<const char*>(data), size);
  int calls = 0;
  while (!in.empty() && calls++ < 64) {
    const std::size_t nl = in.find('\n');
    std::string_view call = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (call.size() < 2) continue;
    const auto op = static_cast<unsigned char>(call[0]);
    const auto k = static_cast<unsigned char>(call[1]) % 5;
    const std::string key = k == 0 ? "" : "key-" + std::to_string(k);
    const std::string body(call.substr(2));
    const std::string id = "pi_" + std::to_string(op % 4);
    Method method = Method::kPost;
    std::string path;
    switch (op % 8) {
      case 0: case 1: path = "/v1/payment_intents"; break;
      case 2: path = "/v1/payment_intents/" + id + "/capture"; break;
      case 3: path = "/v1/payment_intents/" + id + "/cancel"; break;
      case 4: path = "/v1/refunds"; break;
      case 5: method = Method::kGet; path = "/v1/payment_intents/" + id; break;
      case 6: method = Method::kGet; path = "/v1/payment_intents/" + body; break;
      default: path = "/v1/" + body; break;
    }
    auto r = sim.Handle(method, path, key, body);
    Check(r.status >= 200 && r.status < 600, "status out of range");
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    Check(!j.is_discarded() && j.is_object(), "answer is not a JSON object");
  }
  auto stats = nlohmann::json::parse(sim.Handle(Method::kGet, "/v1/stats", "", "").body, nullptr, false);
  Check(stats.is_object(), "stats not JSON");
  Check(stats["captured"].get<std::uint64_t>() <= stats["authorized"].get<std::uint64_t>(), "captured > authorized");
  Check(stats["refunded"].get<std::uint64_t>() <= stats["captured"].get<std::uint64_t>(), "refunded > captured");
  return 0;
}
