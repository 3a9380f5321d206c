#!/usr/bin/env bash
# Rate limiter over HTTP: `keel serve ratelimit` answering POST /json from its
# embedded store (1 HTTP thread, token bucket per key, 100,000 Zipf-distributed
# keys, a limit high enough that every request is admitted) vs nginx answering
# the same POST with `return 200` (1 worker). Both driven by `keel load`
# (closed loop, 1 thread, 64 connections), alternating rounds, medians; then
# the server-side decision latency from keel_ratelimit_decision_seconds.
#
#   bash bench/ratelimit_http.sh
#   ROUNDS=5 DURATION=10s bash bench/ratelimit_http.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }

source "$ROOT/bench/lib/common.sh"

cat > "$WORK/rules.yaml" <<'YAML'
domain: bench
descriptors:
  - key: user
    rate_limit: {unit: second, requests_per_unit: 1000000000, algorithm: token_bucket}
YAML
BODY='{"domain":"bench","descriptors":[{"entries":[{"key":"user","value":"u{{zipf:1.1:100000}}"}]}]}'

KEEL_PORT="$(free_port)"
NGINX_PORT="$(free_port)"
start_nginx "$NGINX_PORT"
"${PIN_SERVER[@]}" "$KEEL" serve ratelimit --config "$WORK/rules.yaml" --threads 1 \
  --http "127.0.0.1:$KEEL_PORT" --grpc "127.0.0.1:$(free_port)" --log-level warn &
PIDS+=($!)
wait_http "http://127.0.0.1:$KEEL_PORT/healthz"
wait_http "http://127.0.0.1:$NGINX_PORT/"

# drive PORT PATH -> "rps p99_us non_2xx"
drive() {
  "${PIN_LOAD[@]}" "$KEEL" load "http://127.0.0.1:$1$2" -m POST --body "$BODY" \
    -H "Content-Type: application/json" -t 1 -c "$CONNECTIONS" -d "$DURATION" --json "$WORK/k.json" >/dev/null
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); e=r["errors"];
print(round(r["achieved_rate"]), round(1000 * r["latency_ms"]["uncorrected"]["p99"]), e["total"])' "$WORK/k.json"
}

declare -a K_RPS K_P99 N_RPS N_P99
for r in $(seq "$ROUNDS"); do
  read -r rps p99 err < <(drive "$NGINX_PORT" /json); N_RPS+=("$rps"); N_P99+=("$p99")
  echo "round $r nginx    : ${rps} rps, p99 ${p99} us, errors ${err}"
  read -r rps p99 err < <(drive "$KEEL_PORT" /json); K_RPS+=("$rps"); K_P99+=("$p99")
  echo "round $r ratelimit: ${rps} rps, p99 ${p99} us, errors ${err}"
done

curl -sf "http://127.0.0.1:$KEEL_PORT/metrics" > "$WORK/metrics.txt"
python3 - "${K_RPS[*]}" "${K_P99[*]}" "${N_RPS[*]}" "${N_P99[*]}" "$WORK/metrics.txt" <<'PY'
import re, statistics, sys
k_rps, k_p99, n_rps, n_p99 = ([float(x) for x in a.split()] for a in sys.argv[1:5])
km, kp, nm, np_ = (statistics.median(v) for v in (k_rps, k_p99, n_rps, n_p99))
print(f"median ratelimit: {km:.0f} rps, p99 {kp:.0f} us")
print(f"median nginx    : {nm:.0f} rps, p99 {np_:.0f} us")
print(f"ratio ratelimit/nginx: rps {km / nm:.2f}x, p99 {kp / np_:.2f}x")
buckets = [(float(le), float(v)) for le, v in re.findall(
    r'^keel_ratelimit_decision_seconds_bucket\{le="([^"]+)"\} (\S+)$', open(sys.argv[5]).read(), re.M)
    if le != "+Inf"]
total = float(re.search(r"^keel_ratelimit_decision_seconds_count (\S+)$", open(sys.argv[5]).read(), re.M).group(1))
for q in (0.5, 0.99, 0.999):
    le = next((b for b, c in buckets if c >= q * total), float("inf"))
    print(f"server-side decision p{q * 100:g} <= {le * 1e6:g} us ({total:.0f} decisions)")
PY
