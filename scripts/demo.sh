#!/usr/bin/env bash
# `make demo`: runs the lab's hello scenario (lab/hello.yaml): keel serve hello
# behind keel chaos under keel load, with a latency fault in the middle, then
# prints where the HTML report is. Takes about 35 s.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$ROOT/out/hello}"
"$ROOT/build/keel" lab "$ROOT/lab/hello.yaml" --out "$OUT"
code=$?
if [ -f "$OUT/report.html" ]; then
  echo
  echo "Report: $OUT/report.html  (open it in a browser; it needs no network)"
fi
# 1 means an SLO did not hold: a result worth reading, not a broken demo.
[ "$code" -le 1 ] || exit "$code"
exit 0
