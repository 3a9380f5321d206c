// `keel serve shop`: orders, inventory and payments in one process (one
// HTTP listener, one PostgreSQL database with three schemas, one NATS
// connection each), for the demo and for a laptop. They still talk only
// over JetStream, exactly as when they run apart.
#pragma once

#include "keel/app/serve.h"

namespace keel::shop {

app::ServiceDef ShopService();

}  // namespace keel::shop
