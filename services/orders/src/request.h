// The body of POST /v1/orders, validated and normalized. The normalized JSON
// is the request's fingerprint (idempotency keys): field order, unknown
// fields and the currency's case do not change it.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "keel/base/status.h"

namespace keel::orders {

// InvalidArgument naming the field; otherwise {customer_id, items: [{sku,
// qty}], payment_token, amount_cents, currency (upper-case)}.
StatusOr<nlohmann::json> ParseOrderRequest(std::string_view body);

}  // namespace keel::orders
