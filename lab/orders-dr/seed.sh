#!/bin/sh
# Stocks SKU A on the shop at HTTP_PORT (far more than the drill orders),
# then stays up as the lab's "seed" process.
#   seed.sh HTTP_PORT
set -eu
curl -fsS -X PUT "http://127.0.0.1:$1/v1/inventory/A" -d '{"on_hand":1000000}' >/dev/null
exec sleep 1000000
