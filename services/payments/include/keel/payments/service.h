// `keel serve payments`: the orders saga's payment participant. Commands
// from JetStream (saga.payments.authorize|capture|void|refund) become calls
// to a Stripe-style payment provider (payments.provider_url; `keel serve
// payment-sim` in tests and the demo) through the core HTTP client and its
// resilience pipeline (payments.provider.*: retries with a budget, breaker,
// timeouts), with idempotency keys derived from the order; replies go out
// through its outbox.
#pragma once

#include <memory>

#include "keel/app/serve.h"

namespace keel::payments {

void AddKeys(config::Schema& schema);
StatusOr<std::unique_ptr<app::Sidecar>> Start(const config::Config& cfg, net::Router& router);

app::ServiceDef PaymentsService();

}  // namespace keel::payments
