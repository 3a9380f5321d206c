// `keel serve inventory`: stock per SKU and the reservations the orders
// saga holds on it (docs/orders.md). HTTP: PUT/GET /v1/inventory/{sku}.
// Commands from JetStream (saga.inventory.reserve|release|commit); replies
// through its outbox. A sweeper releases reservations whose TTL passed.
#pragma once

#include <memory>

#include "keel/app/serve.h"

namespace keel::inventory {

void AddKeys(config::Schema& schema);
// Routes and the background work (consumer, relay, sweeper); for `keel
// serve shop`, which runs it beside orders and payments.
StatusOr<std::unique_ptr<app::Sidecar>> Start(const config::Config& cfg, net::Router& router);

app::ServiceDef InventoryService();

}  // namespace keel::inventory
