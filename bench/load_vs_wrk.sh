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
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || { echo "bench: nginx not found; run scripts/install-deps.sh" >&2; exit 2; }
[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PIN_SERVER=() PIN_LOAD=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 1) PIN_LOAD=(taskset -c 0)
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $WORK/nginx/logs/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$PORT;
    location / { default_type text/plain; return 200 "hello"; }
  }
}
CONF
"${PIN_SERVER[@]}" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
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
