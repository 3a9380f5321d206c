#!/usr/bin/env bash
# HTTP baseline: `keel serve hello --threads 1` vs nginx (1 worker, `return 200`),
# side by side on loopback, driven by wrk (1 thread, 64 connections, 10 s),
# three alternating rounds. Prints rps and p99 per round, medians and ratios.
#
#   bash bench/http_baseline.sh            # uses build/keel
#   ROUNDS=5 DURATION=20s bash bench/http_baseline.sh
#   DRIVER=keel bash bench/http_baseline.sh   # drive both with `keel load` (closed
#                                             # loop, same 1 thread/64 connections)
#                                             # when wrk itself is the bottleneck
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"

command -v wrk >/dev/null || { echo "bench: wrk not found; run scripts/install-deps.sh" >&2; exit 2; }
[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }

source "$ROOT/bench/lib/common.sh"

KEEL_PORT="$(free_port)"
NGINX_PORT="$(free_port)"
start_nginx "$NGINX_PORT"
"${PIN_SERVER[@]}" "$KEEL" serve hello --threads 1 --http "127.0.0.1:$KEEL_PORT" --log-level warn &
PIDS+=($!)

wait_http "http://127.0.0.1:$KEEL_PORT/hello"
wait_http "http://127.0.0.1:$NGINX_PORT/hello"

# run_wrk PORT -> "rps p99_us"
run_wrk() {
  if [ "${DRIVER:-wrk}" = keel ]; then
    "${PIN_LOAD[@]}" "$KEEL" load "http://127.0.0.1:$1/hello" -t 1 -c "$CONNECTIONS" -d "$DURATION" \
      --json "$WORK/k.json" >/dev/null
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]));
print(round(r["achieved_rate"]), round(1000 * r["latency_ms"]["uncorrected"]["p99"]))' "$WORK/k.json"
    return
  fi
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
