#include "request.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace keel::orders {

namespace {

using nlohmann::json;

bool Token(const json& v, std::size_t max, bool sku = false) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > max) return false;
  if (!sku) return true;
  for (char ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') return false;
  }
  return true;
}

}  // namespace

StatusOr<json> ParseOrderRequest(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("body: not a JSON object");
  if (!Token(j.value("customer_id", json()), 128)) return InvalidArgument("customer_id: a string of 1-128 characters is required");
  if (!Token(j.value("payment_token", json()), 128)) return InvalidArgument("payment_token: a string of 1-128 characters is required");
  const json& amount = j.value("amount_cents", json());
  if (!amount.is_number_integer() || amount.get<std::int64_t>() <= 0 || amount.get<std::int64_t>() > 100000000000LL) {
    return InvalidArgument("amount_cents: a positive integer (at most 10^11) is required");
  }
  const json& cur = j.value("currency", json());
  std::string currency = cur.is_string() ? cur.get<std::string>() : "";
  if (currency.size() != 3 || !std::all_of(currency.begin(), currency.end(), [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)); })) {
    return InvalidArgument("currency: a three-letter ISO 4217 code is required");
  }
  for (char& ch : currency) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const json& items = j.value("items", json());
  if (!items.is_array() || items.empty() || items.size() > 100) return InvalidArgument("items: an array of 1-100 items is required");
  json norm_items = json::array();
  for (const auto& item : items) {
    if (!item.is_object() || !Token(item.value("sku", json()), 64, true)) {
      return InvalidArgument("items: each item needs a sku of 1-64 of [A-Za-z0-9._-]");
    }
    const json& qty = item.value("qty", json());
    if (!qty.is_number_integer() || qty.get<std::int64_t>() < 1 || qty.get<std::int64_t>() > 1000000) {
      return InvalidArgument("items: each item needs a qty between 1 and 1000000");
    }
    norm_items.push_back({{"sku", item["sku"]}, {"qty", qty}});
  }
  return json{{"customer_id", j["customer_id"]}, {"items", norm_items}, {"payment_token", j["payment_token"]},
              {"amount_cents", amount}, {"currency", currency}};
}

}  // namespace keel::orders
