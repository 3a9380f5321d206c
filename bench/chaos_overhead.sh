#!/usr/bin/env bash
# keel chaos overhead: `keel load` straight to nginx (1 worker, `return 200`)
# and through a `keel chaos` proxy with no toxics, in one run, alternating
# rounds:
#  1. latency: open loop at a fixed rate -> median p50 of each, added p50;
#  2. throughput: closed loop -> median rps of each, ratio proxied/direct.
# Targets (docs/chaos.md): added p50 <= 100 us, throughput >= 0.7x direct.
#
#   bash bench/chaos_overhead.sh            # uses build/keel
#   ROUNDS=5 RATE=5000 DURATION=10s bash bench/chaos_overhead.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
RATE="${RATE:-2000}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"

[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }
source "$ROOT/bench/lib/common.sh"

PORT="$(free_port)"
start_nginx "$PORT"
wait_http "http://127.0.0.1:$PORT/"

API_PORT="$(free_port)"
PROXY_PORT="$(free_port)"
"${PIN_SERVER[@]}" "$KEEL" chaos --api "127.0.0.1:$API_PORT" --threads 1 --log-level warn &
PIDS+=($!)
wait_http "http://127.0.0.1:$API_PORT/version"
curl -sf -X POST "http://127.0.0.1:$API_PORT/proxies" \
  -d "{\"name\":\"nginx\",\"listen\":\"127.0.0.1:$PROXY_PORT\",\"upstream\":\"127.0.0.1:$PORT\"}" >/dev/null
wait_http "http://127.0.0.1:$PROXY_PORT/"

DIRECT="http://127.0.0.1:$PORT/hello"
PROXIED="http://127.0.0.1:$PROXY_PORT/hello"

# run URL FIELD [load flags...]: prints one number from keel load's JSON summary.
run() {
  local url="$1" field="$2"; shift 2
  "${PIN_LOAD[@]}" "$KEEL" load "$url" -t "$THREADS" -d "$DURATION" --json "$WORK/r.json" "$@" >/dev/null
  python3 - "$WORK/r.json" "$field" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["achieved_rate"] if sys.argv[2] == "rps" else r["latency_ms"]["corrected"]["p50"] * 1000)
PY
}

LD=() LP=() TD=() TP=()
for r in $(seq "$ROUNDS"); do
  d="$(run "$DIRECT" p50 --rate "$RATE" -c 16)"; LD+=("$d")
  p="$(run "$PROXIED" p50 --rate "$RATE" -c 16)"; LP+=("$p")
  echo "round $r open loop $RATE rps p50: direct ${d} us, proxied ${p} us"
done
for r in $(seq "$ROUNDS"); do
  d="$(run "$DIRECT" rps -c "$CONNECTIONS")"; TD+=("$d")
  p="$(run "$PROXIED" rps -c "$CONNECTIONS")"; TP+=("$p")
  echo "round $r closed loop -c $CONNECTIONS: direct ${d} rps, proxied ${p} rps"
done
python3 - "${LD[*]}" "${LP[*]}" "${TD[*]}" "${TP[*]}" "$RATE" <<'PY'
import statistics, sys
ld, lp, td, tp = ([float(x) for x in a.split()] for a in sys.argv[1:5])
added = statistics.median(lp) - statistics.median(ld)
ratio = statistics.median(tp) / statistics.median(td)
print(f"p50 at {sys.argv[5]} rps (median of rounds): direct {statistics.median(ld):.1f} us, "
      f"proxied {statistics.median(lp):.1f} us, added {added:.1f} us (target <= 100 us)")
print(f"throughput (median of rounds): direct {statistics.median(td):.0f} rps, "
      f"proxied {statistics.median(tp):.0f} rps, ratio {ratio:.2f}x (target >= 0.7x)")
PY
