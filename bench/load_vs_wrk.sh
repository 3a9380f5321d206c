#!/usr/bin/env bash
# keel load vs wrk, side by side against nginx (1 worker, `return 200`):
#  1. max throughput (closed loop), same threads and connections as wrk,
#     alternating rounds -> median rps of each and the ratio keel/wrk;
#  2. open loop at 50 % of wrk's median -> achieved vs requested rate.
#
#   bash bench/load_vs_wrk.sh              # uses build/keel
#   ROUNDS=5 DURATION=20s bash bench/load_vs_wrk.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"

command -v wrk >/dev/null || { echo "bench: wrk not found; run scripts/install-deps.sh" >&2; exit 2; }
[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }

source "$ROOT/bench/lib/common.sh"

PORT="$(free_port)"
start_nginx "$PORT"
wait_http "http://127.0.0.1:$PORT/"
URL="http://127.0.0.1:$PORT/hello"

wrk_rps() {
  "${PIN_LOAD[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$URL" |
    awk '/Requests\/sec/ {printf "%.0f\n", $2}'
}
keel_rps() {
  "${PIN_LOAD[@]}" "$KEEL" load "$URL" -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" \
    --json "$WORK/k.json" >/dev/null
  python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["achieved_rate"]))' "$WORK/k.json"
}

W=() K=()
for r in $(seq "$ROUNDS"); do
  w="$(wrk_rps)"; W+=("$w"); echo "round $r wrk      : $w rps"
  k="$(keel_rps)"; K+=("$k"); echo "round $r keel load: $k rps"
done
read -r WMED KMED < <(python3 -c '
import statistics, sys
w = [float(x) for x in sys.argv[1].split()]; k = [float(x) for x in sys.argv[2].split()]
print(round(statistics.median(w)), round(statistics.median(k)))' "${W[*]}" "${K[*]}")
echo "max throughput median: wrk $WMED rps, keel load $KMED rps, ratio keel/wrk $(python3 -c "print(f'{$KMED/$WMED:.2f}')")x"

RATE=$((WMED / 2))
"${PIN_LOAD[@]}" "$KEEL" load "$URL" -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --rate "$RATE" \
  --json "$WORK/open.json" >/dev/null
python3 - "$WORK/open.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
req, got = r["requested_rate"], r["achieved_rate"]
print(f"open loop at 50% of wrk: requested {req:.0f} rps, achieved {got:.0f} rps "
      f"({100 * (got - req) / req:+.2f}%), corrected p99 {r['latency_ms']['corrected']['p99']:.3f} ms, "
      f"uncorrected p99 {r['latency_ms']['uncorrected']['p99']:.3f} ms")
PY
