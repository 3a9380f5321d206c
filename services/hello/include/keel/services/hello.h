// The hello service: GET /hello -> 200 "hello". The smallest Keel service,
// used by `make demo`, the integration tests and the HTTP baseline benchmark.
#pragma once

#include "keel/app/serve.h"

namespace keel::services {

app::ServiceDef HelloService();

}  // namespace keel::services
