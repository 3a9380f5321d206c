#include "simulator.h"

#include <cassert>
#include <charconv>
#include <memory>
#include <utility>

#include "keel/base/rng.h"
#include "wire.h"

namespace keel::paymentsim {
namespace {

constexpr std::string_view kIntentsPath = "/v1/payment_intents";

enum class Route { kNone, kCreate, kCapture, kCancel, kRefund, kGet, kStats };

struct Target {
  Route route = Route::kNone;
  std::string_view id;
};

// The same routes as service.cc registers.
Target Match(net::Method method, std::string_view path) {
  const bool get = method == net::Method::kGet;
  const bool post = method == net::Method::kPost;
  if (path == "/v1/stats") return {get ? Route::kStats : Route::kNone, {}};
  if (path == "/v1/refunds") return {post ? Route::kRefund : Route::kNone, {}};
  if (path == kIntentsPath) return {post ? Route::kCreate : Route::kNone, {}};
  if (!path.starts_with(kIntentsPath) || path.size() == kIntentsPath.size() ||
      path[kIntentsPath.size()] != '/') {
    return {};
  }
  const std::string_view rest = path.substr(kIntentsPath.size() + 1);
  const auto slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  if (id.empty()) return {};
  if (slash == std::string_view::npos) return {get ? Route::kGet : Route::kNone, id};
  const std::string_view action = rest.substr(slash + 1);
  if (post && action == "capture") return {Route::kCapture, id};
  if (post && action == "cancel") return {Route::kCancel, id};
  return {};
}

}  // namespace

Simulator::UniformSource Simulator::SeededUniform(std::uint64_t seed) {
  auto rng = std::make_shared<Rng>(seed);
  return [rng] { return rng->NextDouble(); };
}

Simulator::Simulator(SimulatorOptions options, UniformSource uniform)
    : limits_(options),
      decline_rate_(options.decline_rate),
      error_rate_(options.error_rate),
      uniform_(std::move(uniform)),
      idempotency_(options.max_idempotency_keys) {
  assert(uniform_ && options.max_intents >= 1);
}

void Simulator::SetDeclineRate(double rate) {
  std::lock_guard<std::mutex> lock(mu_);
  decline_rate_ = rate;
}

void Simulator::SetErrorRate(double rate) {
  std::lock_guard<std::mutex> lock(mu_);
  error_rate_ = rate;
}

SimStats Simulator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

SimResponse Simulator::Handle(net::Method method, std::string_view path,
                              std::string_view idempotency_key, std::string_view body) {
  if (method == net::Method::kHead) method = net::Method::kGet;
  std::lock_guard<std::mutex> lock(mu_);
  const Target target = Match(method, path);
  if (target.route != Route::kStats) ++stats_.requests;
  // Answers that did not come from running an endpoint (never stored).
  auto reject = [this](const ApiError& e) {
    if (e.status < 500) ++stats_.invalid;
    return SimResponse{e.status, ErrorJson(e), false};
  };
  if (target.route == Route::kNone) {
    return reject({404, "invalid_request_error", "resource_missing",
                   "Unrecognized request URL (" + std::string(net::MethodLabel(method)) + ": " +
                       std::string(path) + ")."});
  }
  if (method != net::Method::kPost) {
    Outcome out = target.route == Route::kStats ? Stats() : Get(target.id);
    if (out.status >= 400) ++stats_.invalid;
    return {out.status, std::move(out.body), false};
  }

  // Injected before anything else: the API was "down", nothing happened.
  if (error_rate_ > 0 && uniform_() < error_rate_) {
    ++stats_.errors;
    return reject({503, "api_error", "simulated_error",
                   "Simulated API error (paymentsim.error_rate); the request had no effect."});
  }
  if (idempotency_key.empty() && target.route == Route::kCreate) {
    return reject({400, "invalid_request_error", "parameter_missing",
                   "Missing required header: Idempotency-Key.", "Idempotency-Key"});
  }
  if (idempotency_key.size() > kMaxKeyBytes) {
    return reject({400, "invalid_request_error", "idempotency_key_invalid",
                   "Idempotency-Key must be at most 255 characters.", "Idempotency-Key"});
  }
  std::optional<nlohmann::json> doc = ParseBody(body);
  if (!doc) {
    return reject({400, "invalid_request_error", "invalid_json",
                   "Invalid request body: expected a JSON object."});
  }
  const std::uint64_t fingerprint = Fingerprint(method, path, *doc);
  if (!idempotency_key.empty()) {
    if (const IdempotencyCache::Entry* e = idempotency_.Find(idempotency_key)) {
      if (e->fingerprint == fingerprint) return {e->status, e->body, true};
      return reject({400, "idempotency_error", "idempotency_key_reused",
                     "Keys for idempotent requests can only be used with the same parameters "
                     "they were first used with. Try using a key other than '" +
                         std::string(idempotency_key) +
                         "' if you meant to execute a different request."});
    }
  }

  Outcome out;
  switch (target.route) {
    case Route::kCreate: {
      CreateParams params;
      if (auto e = ParseCreate(*doc, &params)) return reject(*e);
      out = Create(params);
      break;
    }
    case Route::kRefund: {
      RefundParams params;
      if (auto e = ParseRefund(*doc, &params)) return reject(*e);
      out = Refund(params);
      break;
    }
    case Route::kCapture: out = Capture(target.id); break;
    case Route::kCancel: out = Cancel(target.id); break;
    default: break;  // GETs returned above
  }
  if (out.status >= 400 && out.status != 402) ++stats_.invalid;
  if (!idempotency_key.empty() && out.store) {
    idempotency_.Insert(std::string(idempotency_key), {fingerprint, out.status, out.body});
  }
  return {out.status, std::move(out.body), false};
}

PaymentIntent* Simulator::FindIntent(std::string_view id) {
  if (!id.starts_with("pi_")) return nullptr;
  std::uint64_t number = 0;
  const char* first = id.data() + 3;
  const char* last = id.data() + id.size();
  auto [ptr, ec] = std::from_chars(first, last, number);
  if (ec != std::errc() || ptr != last || first == last || *first == '0') return nullptr;
  auto it = intents_.find(number);
  return it == intents_.end() ? nullptr : &it->second;
}

Simulator::Outcome Simulator::Create(const CreateParams& params) {
  const CardDecline* decline = TokenDecline(params.payment_method);
  // The random decline only hits tokens that would otherwise succeed.
  if (decline == nullptr && decline_rate_ > 0 && uniform_() < decline_rate_) {
    decline = &GenericDecline();
  }
  if (decline != nullptr) {
    ++stats_.declined;
    const ApiError e = DeclineError(*decline);
    return {e.status, ErrorJson(e), true};
  }
  PaymentIntent pi;
  pi.number = next_intent_++;
  pi.amount = params.amount;
  pi.currency = params.currency;
  pi.payment_method = params.payment_method;
  ++stats_.authorized;
  std::string body = IntentJson(pi);
  intents_.emplace(pi.number, std::move(pi));
  if (intents_.size() > limits_.max_intents) intents_.erase(intents_.begin());
  return {200, std::move(body), true};
}

Simulator::Outcome Simulator::Capture(std::string_view id) {
  PaymentIntent* pi = FindIntent(id);
  if (pi == nullptr) return {404, ErrorJson(NoSuchIntent(id)), false};
  if (pi->status == IntentStatus::kCanceled) {
    return {400, ErrorJson(UnexpectedState("captured", pi->status, "requires_capture"), pi), true};
  }
  if (pi->status == IntentStatus::kRequiresCapture) {
    pi->status = IntentStatus::kSucceeded;
    ++stats_.captured;
  }
  return {200, IntentJson(*pi), true};
}

Simulator::Outcome Simulator::Cancel(std::string_view id) {
  PaymentIntent* pi = FindIntent(id);
  if (pi == nullptr) return {404, ErrorJson(NoSuchIntent(id)), false};
  if (pi->status == IntentStatus::kSucceeded) {
    return {400, ErrorJson(UnexpectedState("canceled", pi->status, "requires_capture"), pi), true};
  }
  if (pi->status == IntentStatus::kRequiresCapture) {
    pi->status = IntentStatus::kCanceled;
    ++stats_.canceled;
  }
  return {200, IntentJson(*pi), true};
}

Simulator::Outcome Simulator::Refund(const RefundParams& params) {
  PaymentIntent* pi = FindIntent(params.payment_intent);
  if (pi == nullptr) {
    return {404, ErrorJson(NoSuchIntent(params.payment_intent, "payment_intent")), false};
  }
  if (pi->refunded) {
    const ApiError e{400, "invalid_request_error", "charge_already_refunded",
                     "PaymentIntent " + params.payment_intent + " has already been refunded."};
    return {400, ErrorJson(e, pi), true};
  }
  if (pi->status != IntentStatus::kSucceeded) {
    return {400, ErrorJson(UnexpectedState("refunded", pi->status, "succeeded"), pi), true};
  }
  if (params.amount && *params.amount != pi->amount) {
    const ApiError e = InvalidParam("amount", "parameter_invalid_integer",
                                    "paymentsim refunds whole amounts only: amount must be " +
                                        std::to_string(pi->amount) + " or absent.");
    return {400, ErrorJson(e), false};
  }
  pi->refunded = true;
  ++stats_.refunded;
  return {200, RefundJson(next_refund_++, *pi), true};
}

Simulator::Outcome Simulator::Get(std::string_view id) {
  PaymentIntent* pi = FindIntent(id);
  if (pi == nullptr) return {404, ErrorJson(NoSuchIntent(id)), false};
  return {200, IntentJson(*pi), false};
}

Simulator::Outcome Simulator::Stats() const { return {200, StatsJson(stats_), false}; }

}  // namespace keel::paymentsim
