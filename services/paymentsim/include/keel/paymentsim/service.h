// `keel serve payment-sim`: a Stripe-like payment provider simulator, the
// HTTP upstream that services taking payments are tested against. It keeps
// payment intents in memory and mirrors Stripe's wire conventions: JSON
// objects, errors as {"error":{"type","code","message",...}}, test card
// tokens (tok_visa succeeds, tok_chargeDeclined is declined with 402, ...),
// manual capture, and Idempotency-Key semantics (first answer stored and
// replayed with Idempotent-Replayed: true; the key reused for another
// request is a 400 idempotency_error).
//
//   keel serve payment-sim --http 127.0.0.1:8090 --set paymentsim.decline_rate=0.1
//
//   POST /v1/payment_intents               authorize (Idempotency-Key required)
//   POST /v1/payment_intents/{id}/capture  capture
//   POST /v1/payment_intents/{id}/cancel   void
//   POST /v1/refunds                       refund a captured intent
//   GET  /v1/payment_intents/{id}          the intent
//   GET  /v1/stats                         counts of what happened
//
// Fault knobs (paymentsim.decline_rate, .error_rate, .latency, .seed) make it
// decline, fail with 503 without effect, or answer late; the delay never
// blocks a worker thread. API, config and limits:
// services/paymentsim/docs/README.md.
#pragma once

#include "keel/app/serve.h"

namespace keel::paymentsim {

app::ServiceDef PaymentSimService();

}  // namespace keel::paymentsim
