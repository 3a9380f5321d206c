// The Stripe wire format of the simulator: request bodies in, objects and
// error objects out. No state; the Simulator decides, this spells it.
//
//   std::optional<nlohmann::json> doc = ParseBody(body);   // nullopt: not a JSON object
//   CreateParams p;
//   if (auto e = ParseCreate(*doc, &p)) return ErrorJson(*e);  // 400 parameter_missing, ...
//   std::string out = IntentJson(intent);
//
// Every function takes untrusted input and never throws: bytes that are not
// UTF-8 in echoed strings become U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "keel/net/http_message.h"
#include "simulator.h"

namespace keel::paymentsim {

inline constexpr std::size_t kMaxKeyBytes = 255;  // Stripe's limit on an Idempotency-Key

// One Stripe error object: {"error":{"type","code",["decline_code"],["param"],"message"}}.
struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string code;
  std::string message;
  std::string param = {};
  std::string decline_code = {};
};

ApiError Missing(std::string param);  // 400 parameter_missing
ApiError InvalidParam(std::string param, std::string code, std::string message);
ApiError NoSuchIntent(std::string_view id, std::string param = {});  // 404 resource_missing
// 400 payment_intent_unexpected_state: "could not be <verb> ... <allowed>".
ApiError UnexpectedState(std::string_view verb, IntentStatus status, std::string_view allowed);

// With `intent`, the error carries it as "payment_intent" (as Stripe's do).
std::string ErrorJson(const ApiError& e, const PaymentIntent* intent = nullptr);
std::string IntentJson(const PaymentIntent& intent);
std::string RefundJson(std::uint64_t refund_number, const PaymentIntent& intent);
std::string StatsJson(const SimStats& stats);

// "" and whitespace read as {}; anything else must be a JSON object.
std::optional<nlohmann::json> ParseBody(std::string_view body);
// Equal for the same method, path and body, whatever the order of its keys.
std::uint64_t Fingerprint(net::Method method, std::string_view path, const nlohmann::json& body);
// Fill *out, or return the 400 to answer. Unknown fields are ignored.
std::optional<ApiError> ParseCreate(const nlohmann::json& body, CreateParams* out);
std::optional<ApiError> ParseRefund(const nlohmann::json& body, RefundParams* out);

// A Stripe test card that fails.
struct CardDecline {
  std::string_view name;  // tok_<name>, pm_card_<name>
  std::string_view code;
  std::string_view decline_code;
  std::string_view message;
};
// The decline of a test token, or null when the card works.
const CardDecline* TokenDecline(std::string_view payment_method);
// card_declined / generic_decline (what paymentsim.decline_rate answers).
const CardDecline& GenericDecline();
ApiError DeclineError(const CardDecline& decline);  // 402 card_error

}  // namespace keel::paymentsim
