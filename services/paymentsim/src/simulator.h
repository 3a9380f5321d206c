// Simulator: the payment provider behind `keel serve payment-sim`, without
// HTTP. A small Stripe-like API (authorize, capture, cancel, refund) with
// Stripe's idempotency semantics, test card tokens and fault knobs, kept in
// memory. The service wires it to routes; tests drive it directly.
//
//   Simulator sim({.decline_rate = 0.1}, Simulator::SeededUniform(1));
//   SimResponse r = sim.Handle(net::Method::kPost, "/v1/payment_intents", "key-1",
//                              R"({"amount":1000,"currency":"usd","payment_method":"tok_visa"})");
//   // r.status == 200, r.body == {"id":"pi_1",...,"status":"requires_capture",...}
//
// Every answer is a JSON body: the object, or Stripe's error shape
// {"error":{"type":..,"code":..,"message":..}} with a 4xx/5xx status. Bad
// input of any kind is an answer, never a crash or an exception.
//
// Idempotency (POSTs): the first answer for an Idempotency-Key is stored with
// a fingerprint of the request (method, path, canonical JSON body); the same
// request again gets the stored answer (replayed = true), another request
// with the key gets 400 idempotency_error. Stored: successes, declines and
// state errors (the endpoint ran). Not stored: parameter validation errors,
// unknown ids (404) and injected errors, so a retry may succeed. At most
// `max_idempotency_keys` keys are kept, the oldest evicted first.
//
// Thread-safety: all methods are thread-safe; one mutex serializes requests
// (so two requests with one key never run concurrently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "idempotency_cache.h"
#include "keel/net/http_message.h"

namespace keel::paymentsim {

struct SimulatorOptions {
  double decline_rate = 0;  // [0, 1]: share of good tokens declined (generic_decline)
  double error_rate = 0;    // [0, 1]: share of POSTs answered 503 api_error, no effect
  std::size_t max_idempotency_keys = 100000;
  // Intents kept for capture/cancel/refund/GET; the oldest is forgotten
  // (then 404) beyond this, so memory stays bounded under endless load.
  std::size_t max_intents = 1000000;
};

struct SimResponse {
  int status = 200;
  std::string body;       // JSON
  bool replayed = false;  // answered from the idempotency cache
};

// Counts of effects, as GET /v1/stats shows them. A replay counts as a
// request and nothing else.
struct SimStats {
  std::uint64_t authorized = 0;  // intents created (requires_capture)
  std::uint64_t declined = 0;    // 402 card errors (tokens and decline_rate)
  std::uint64_t captured = 0;
  std::uint64_t canceled = 0;
  std::uint64_t refunded = 0;
  std::uint64_t errors = 0;      // injected 503s (error_rate)
  std::uint64_t invalid = 0;     // 4xx answers other than declines (bad input, 404, state)
  std::uint64_t requests = 0;    // every call except GET /v1/stats
};

enum class IntentStatus { kRequiresCapture, kSucceeded, kCanceled };

// A payment intent: an authorization (manual capture) and what became of it.
struct PaymentIntent {
  std::uint64_t number = 0;  // the n of pi_<n>
  std::int64_t amount = 0;   // in the currency's smallest unit
  std::string currency;      // three lower-case letters
  std::string payment_method;
  IntentStatus status = IntentStatus::kRequiresCapture;
  bool refunded = false;
};

// The validated bodies of POST /v1/payment_intents and POST /v1/refunds.
struct CreateParams {
  std::int64_t amount = 0;
  std::string currency;
  std::string payment_method;
};
struct RefundParams {
  std::string payment_intent;
  std::optional<std::int64_t> amount;  // absent: the whole amount
};

class Simulator {
 public:
  // Uniform draws in [0, 1) for the fault knobs; called under the mutex.
  using UniformSource = std::function<double()>;
  // A deterministic source (keel::Rng) for `seed`.
  static UniformSource SeededUniform(std::uint64_t seed);

  // REQUIRES: rates in [0, 1], max_* >= 1, uniform non-null.
  Simulator(SimulatorOptions options, UniformSource uniform);

  // One API call. `idempotency_key` is the Idempotency-Key header ("" when
  // absent); `body` may be empty (read as {}). HEAD is treated as GET.
  SimResponse Handle(net::Method method, std::string_view path, std::string_view idempotency_key,
                     std::string_view body);

  // The fault knobs, changeable at run time (tests, future admin API).
  // REQUIRES: rate in [0, 1].
  void SetDeclineRate(double rate);
  void SetErrorRate(double rate);

  SimStats stats() const;

 private:
  // What an endpoint answered and whether its idempotency key keeps it.
  struct Outcome {
    int status = 200;
    std::string body;
    bool store = true;
  };

  // REQUIRES: mu_ held, for all of these.
  Outcome Create(const CreateParams& params);
  Outcome Capture(std::string_view id);
  Outcome Cancel(std::string_view id);
  Outcome Refund(const RefundParams& params);
  Outcome Get(std::string_view id);
  Outcome Stats() const;
  PaymentIntent* FindIntent(std::string_view id);

  mutable std::mutex mu_;
  const SimulatorOptions limits_;
  double decline_rate_;                    // GUARDED_BY(mu_)
  double error_rate_;                      // GUARDED_BY(mu_)
  UniformSource uniform_;                  // GUARDED_BY(mu_)
  IdempotencyCache idempotency_;           // GUARDED_BY(mu_)
  std::map<std::uint64_t, PaymentIntent> intents_;  // GUARDED_BY(mu_); by number, oldest first
  std::uint64_t next_intent_ = 1;          // GUARDED_BY(mu_)
  std::uint64_t next_refund_ = 1;          // GUARDED_BY(mu_)
  SimStats stats_;                         // GUARDED_BY(mu_)
};

}  // namespace keel::paymentsim
