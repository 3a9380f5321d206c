#!/bin/sh
# Stocks the scenario's SKUs through the inventory API, then stays up so the
# lab can hold it as a process (its health check: the stock is there).
#   seed.sh INVENTORY_URL SKU=N [SKU=N...]
set -eu
URL="$1"; shift
for pair in "$@"; do
  sku="${pair%%=*}"; n="${pair#*=}"
  until curl -sf -X PUT "$URL/v1/inventory/$sku" -d "{\"on_hand\":$n}" >/dev/null; do sleep 0.2; done
done
exec sleep 3600
