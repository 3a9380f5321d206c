#!/usr/bin/env bash
# `make demo`: runs a lab scenario — by default lab/ratelimit.yaml: keel serve
# ratelimit under a Zipf user load over gRPC with a rules reload mid-run —
# then prints where the HTML report is. Takes about 35 s.
#   SCENARIO=lab/hello.yaml make demo    # keel serve hello behind keel chaos
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SCENARIO="${SCENARIO:-$ROOT/lab/ratelimit.yaml}"
NAME="$(basename "$SCENARIO" .yaml)"
OUT="${OUT:-$ROOT/out/$NAME}"
"$ROOT/build/keel" lab "$SCENARIO" --out "$OUT"
code=$?
if [ -f "$OUT/report.html" ]; then
  echo
  echo "Report: $OUT/report.html  (open it in a browser; it needs no network)"
fi
# 1 means an SLO did not hold: a result worth reading, not a broken demo.
[ "$code" -le 1 ] || exit "$code"
exit 0
