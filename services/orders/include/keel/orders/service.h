// `keel serve orders`: the orders saga's orchestrator (docs/orders.md).
// HTTP: POST /v1/orders (Idempotency-Key required), GET /v1/orders/{id},
// POST /v1/orders/{id}/cancel. It drives each order through inventory and
// payments with commands over JetStream (through its outbox) and the
// replies it consumes (through its inbox); a sweeper compensates steps
// whose deadline passed, finishes crashed requests and reaps idempotency
// keys. `keel orders dlq list|replay` reads and replays the dead letters.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "keel/app/serve.h"

namespace keel::orders {

void AddKeys(config::Schema& schema);
StatusOr<std::unique_ptr<app::Sidecar>> Start(const config::Config& cfg, net::Router& router);

app::ServiceDef OrdersService();

// `keel orders dlq list|replay`.
struct DlqFlags {
  std::string nats_url;   // empty: KEEL_NATS_URL, else nats://127.0.0.1:4222
  std::string command;    // "list" or "replay"
  std::string sequence;   // replay: a DLQ stream sequence, or "all"
  bool json = false;      // list: one JSON object per line
};
int RunDlqCommand(const DlqFlags& flags);

}  // namespace keel::orders
