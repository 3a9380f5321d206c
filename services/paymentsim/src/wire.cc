#include "wire.h"

#include <array>
#include <functional>
#include <utility>

namespace keel::paymentsim {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::size_t kMaxPaymentMethodBytes = 255;
constexpr std::int64_t kMaxAmount = 99999999;  // Stripe's cap (999,999.99 in a 2-decimal currency)

std::string Dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string_view StatusName(IntentStatus s) {
  switch (s) {
    case IntentStatus::kRequiresCapture: return "requires_capture";
    case IntentStatus::kSucceeded: return "succeeded";
    case IntentStatus::kCanceled: return "canceled";
  }
  return "unknown";
}

// Stripe's field order, for people reading the answers.
ordered_json IntentObject(const PaymentIntent& pi) {
  ordered_json j = {{"id", "pi_" + std::to_string(pi.number)},
                    {"object", "payment_intent"},
                    {"amount", pi.amount},
                    {"currency", pi.currency},
                    {"status", std::string(StatusName(pi.status))},
                    {"payment_method", pi.payment_method}};
  if (pi.refunded) j["refunded"] = true;
  return j;
}

std::optional<ApiError> ParseAmount(const json& j, const std::string& param, std::int64_t* out) {
  if (!j.is_number_integer()) {
    return InvalidParam(param, "parameter_invalid_integer", "Invalid integer: " + param +
                        " must be a whole number of the currency's smallest unit.");
  }
  if (j.is_number_unsigned() ? j.get<std::uint64_t>() > std::uint64_t{kMaxAmount}
                             : j.get<std::int64_t>() > kMaxAmount) {
    return InvalidParam(param, "amount_too_large", "Amount must be no more than 99999999.");
  }
  const auto v = j.get<std::int64_t>();
  if (v < 1) {
    return InvalidParam(param, "parameter_invalid_integer",
                        "Invalid positive integer: " + param + " must be at least 1.");
  }
  *out = v;
  return std::nullopt;
}

// Three ASCII letters, lower-cased in place.
bool IsCurrency(std::string* s) {
  if (s->size() != 3) return false;
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

constexpr std::array<CardDecline, 6> kDeclines = {{
    {"chargeDeclined", "card_declined", "generic_decline", "Your card was declined."},
    {"chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."},
    {"chargeDeclinedFraudulent", "card_declined", "fraudulent", "Your card was declined."},
    {"chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."},
    {"chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc",
     "Your card's security code is incorrect."},
    {"chargeDeclinedProcessingError", "processing_error", "processing_error",
     "An error occurred while processing your card. Try again in a little bit."},
}};

}  // namespace

ApiError Missing(std::string param) {
  return {400, "invalid_request_error", "parameter_missing",
          "Missing required param: " + param + ".", param};
}

ApiError InvalidParam(std::string param, std::string code, std::string message) {
  return {400, "invalid_request_error", std::move(code), std::move(message), std::move(param)};
}

ApiError NoSuchIntent(std::string_view id, std::string param) {
  return {404, "invalid_request_error", "resource_missing",
          "No such payment_intent: '" + std::string(id) + "'", std::move(param)};
}

ApiError UnexpectedState(std::string_view verb, IntentStatus status, std::string_view allowed) {
  return {400, "invalid_request_error", "payment_intent_unexpected_state",
          "This PaymentIntent could not be " + std::string(verb) + " because it has a status of " +
              std::string(StatusName(status)) + ". Only a PaymentIntent with one of the " +
              "following statuses may be " + std::string(verb) + ": " + std::string(allowed) +
              "."};
}

std::string ErrorJson(const ApiError& e, const PaymentIntent* intent) {
  ordered_json err = {{"type", e.type}, {"code", e.code}};
  if (!e.decline_code.empty()) err["decline_code"] = e.decline_code;
  if (!e.param.empty()) err["param"] = e.param;
  err["message"] = e.message;
  if (intent != nullptr) err["payment_intent"] = IntentObject(*intent);
  ordered_json doc;
  doc["error"] = std::move(err);
  return Dump(doc);
}

std::string IntentJson(const PaymentIntent& intent) { return Dump(IntentObject(intent)); }

std::string RefundJson(std::uint64_t refund_number, const PaymentIntent& intent) {
  return Dump({{"id", "re_" + std::to_string(refund_number)},
               {"object", "refund"},
               {"payment_intent", "pi_" + std::to_string(intent.number)},
               {"amount", intent.amount},
               {"currency", intent.currency},
               {"status", "succeeded"}});
}

std::string StatsJson(const SimStats& s) {
  return Dump({{"authorized", s.authorized}, {"declined", s.declined}, {"captured", s.captured},
               {"canceled", s.canceled},     {"refunded", s.refunded}, {"errors", s.errors},
               {"invalid", s.invalid},       {"requests", s.requests}});
}

std::optional<json> ParseBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// nlohmann's objects are key-sorted, so the dump is canonical.
std::uint64_t Fingerprint(net::Method method, std::string_view path, const json& body) {
  std::string canonical(net::MethodLabel(method));
  canonical.append(" ").append(path).append("\n");
  canonical += body.dump(-1, ' ', false, json::error_handler_t::replace);
  return std::hash<std::string>{}(canonical);
}

std::optional<ApiError> ParseCreate(const json& body, CreateParams* out) {
  auto amount = body.find("amount");
  if (amount == body.end()) return Missing("amount");
  if (auto e = ParseAmount(*amount, "amount", &out->amount)) return e;
  auto currency = body.find("currency");
  if (currency == body.end()) return Missing("currency");
  if (currency->is_string()) out->currency = currency->get<std::string>();
  if (!currency->is_string() || !IsCurrency(&out->currency)) {
    return InvalidParam("currency", "payment_intent_invalid_parameter",
                        "Invalid currency: expected a three-letter ISO code such as \"usd\".");
  }
  auto pm = body.find("payment_method");
  if (pm == body.end()) return Missing("payment_method");
  if (!pm->is_string() || pm->get_ref<const std::string&>().empty() ||
      pm->get_ref<const std::string&>().size() > kMaxPaymentMethodBytes) {
    return InvalidParam("payment_method", "payment_intent_invalid_parameter",
                        "Invalid payment_method: expected a token such as \"tok_visa\" "
                        "(1 to 255 bytes).");
  }
  out->payment_method = pm->get<std::string>();
  return std::nullopt;
}

std::optional<ApiError> ParseRefund(const json& body, RefundParams* out) {
  auto pi = body.find("payment_intent");
  if (pi == body.end()) return Missing("payment_intent");
  if (!pi->is_string() || pi->get_ref<const std::string&>().empty()) {
    return InvalidParam("payment_intent", "payment_intent_invalid_parameter",
                        "Invalid payment_intent: expected an id such as \"pi_1\".");
  }
  out->payment_intent = pi->get<std::string>();
  if (auto amount = body.find("amount"); amount != body.end()) {
    std::int64_t v = 0;
    if (auto e = ParseAmount(*amount, "amount", &v)) return e;
    out->amount = v;
  }
  return std::nullopt;
}

const CardDecline* TokenDecline(std::string_view pm) {
  if (pm.starts_with("tok_")) {
    pm.remove_prefix(4);
  } else if (pm.starts_with("pm_card_")) {
    pm.remove_prefix(8);
  } else {
    return nullptr;
  }
  for (const CardDecline& d : kDeclines) {
    if (d.name == pm) return &d;
  }
  return nullptr;
}

const CardDecline& GenericDecline() { return kDeclines[0]; }

ApiError DeclineError(const CardDecline& d) {
  return {402, "card_error", std::string(d.code), std::string(d.message), {},
          std::string(d.decline_code)};
}

}  // namespace keel::paymentsim
