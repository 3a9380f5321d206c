#!/usr/bin/env bash
# HTTP baseline: `keel serve hello --threads 1` vs nginx (1 worker, `return 200`),
# side by side on loopback, driven by wrk (1 thread, 64 connections, 10 s),
# three alternating rounds. Prints rps and p99 per round, medians and ratios.
#
#   bash bench/http_baseline.sh            # uses build/keel
#   ROUNDS=5 DURATION=20s bash bench/http_baseline.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"

for tool in wrk nginx; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "bench: $tool not found; run scripts/install-deps.sh" >&2; exit 2; }
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Pin servers and load generator to different cores so that both servers get
# the same conditions (no-op on a single core).
PIN_SERVER=() PIN_LOAD=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 1) PIN_LOAD=(taskset -c 0)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

KEEL_PORT="$(free_port)"
NGINX_PORT="$(free_port)"

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
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type text/plain; return 200 "hello"; }
  }
}
CONF
"${PIN_SERVER[@]}" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)
"${PIN_SERVER[@]}" "$KEEL" serve hello --threads 1 --http "127.0.0.1:$KEEL_PORT" --log-level warn &
PIDS+=($!)

for port in "$KEEL_PORT" "$NGINX_PORT"; do
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/hello" >/dev/null && break
    sleep 0.1
  done
done

# run_wrk PORT -> "rps p99_us"
run_wrk() {
  "${PIN_LOAD[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$1/hello" > "$WORK/wrk.out"
  python3 - "$WORK/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
scale = {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)]
print(f"{rps:.0f} {float(m.group(1)) * scale:.0f}")
PY
}

declare -a K_RPS K_P99 N_RPS N_P99
for r in $(seq "$ROUNDS"); do
  read -r rps p99 < <(run_wrk "$NGINX_PORT"); N_RPS+=("$rps"); N_P99+=("$p99")
  echo "round $r nginx: ${rps} rps, p99 ${p99} us"
  read -r rps p99 < <(run_wrk "$KEEL_PORT"); K_RPS+=("$rps"); K_P99+=("$p99")
  echo "round $r keel : ${rps} rps, p99 ${p99} us"
done

python3 - "${K_RPS[*]}" "${K_P99[*]}" "${N_RPS[*]}" "${N_P99[*]}" <<'PY'
import statistics, sys
k_rps, k_p99, n_rps, n_p99 = ([float(x) for x in a.split()] for a in sys.argv[1:5])
km, kp, nm, np_ = (statistics.median(v) for v in (k_rps, k_p99, n_rps, n_p99))
print(f"median keel : {km:.0f} rps, p99 {kp:.0f} us")
print(f"median nginx: {nm:.0f} rps, p99 {np_:.0f} us")
print(f"ratio keel/nginx: rps {km / nm:.2f}x, p99 {kp / np_:.2f}x")
PY
