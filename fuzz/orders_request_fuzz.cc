// libFuzzer target for the POST /v1/orders body parser (services/orders).
//
// Any input is an answer, never a crash. An accepted body must respect the
// documented bounds, and its normalized form (the idempotency fingerprint)
// must be a fixed point: parsing the normalized JSON again gives the same
// JSON, so a client replaying what it sent gets the same fingerprint.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "request.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "orders_request_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto got = keel::orders::ParseOrderRequest(body);
  if (!got.ok()) {
    Check(got.status().code() == keel::StatusCode::kInvalidArgument, "rejection is not InvalidArgument");
    Check(!got.status().message().empty(), "rejection without a message");
    return 0;
  }
  const nlohmann::json& req = *got;
  Check(req.size() == 5, "normalized request has other fields");
  const auto amount = req["amount_cents"].get<std::int64_t>();
  Check(amount > 0 && amount <= 100000000000LL, "amount_cents out of bounds");
  const auto& currency = req["currency"].get_ref<const std::string&>();
  Check(currency.size() == 3, "currency not three letters");
  for (char c : currency) Check(c >= 'A' && c <= 'Z', "currency not upper-case");
  Check(!req["items"].empty() && req["items"].size() <= 100, "item count out of bounds");
  for (const auto& item : req["items"]) {
    const auto qty = item["qty"].get<std::int64_t>();
    Check(qty >= 1 && qty <= 1000000, "qty out of bounds");
    const auto& sku = item["sku"].get_ref<const std::string&>();
    Check(!sku.empty() && sku.size() <= 64, "sku length out of bounds");
  }
  auto again = keel::orders::ParseOrderRequest(req.dump());
  Check(again.ok(), "normalized request rejected");
  Check(*again == req, "normalization is not a fixed point");
  return 0;
}
