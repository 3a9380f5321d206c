#!/usr/bin/env bash
# Rate limiter over HTTP: `keel serve ratelimit` answering POST /json from its
# embedded store (1 HTTP thread, token bucket per key, 100,000 Zipf-distributed
# keys, a limit high enough that every request is admitted) vs nginx answering
# the same POST with `return 200` (1 worker; the issue's reference), and vs
# nginx returning the very bytes keel answers (the same JSON body and
# RateLimit-*/traceparent headers, captured from the running server), which
# separates what the decision costs from what a larger answer costs. All
# driven by `keel load` (closed loop, 1 thread, 64 connections), alternating
# rounds, medians; then the server-side decision latency from
# keel_ratelimit_decision_seconds.
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

ratelimit_fixture  # $WORK/rules.yaml and $BODY

KEEL_PORT="$(free_port)"
NGINX_PORT="$(free_port)"
SAME_PORT="$(free_port)"
start_nginx "$NGINX_PORT"
"${PIN_SERVER[@]}" "$KEEL" serve ratelimit --config "$WORK/rules.yaml" --threads 1 \
  --http "127.0.0.1:$KEEL_PORT" --grpc "127.0.0.1:$(free_port)" --log-level warn &
PIDS+=($!)
wait_http "http://127.0.0.1:$KEEL_PORT/healthz"
wait_http "http://127.0.0.1:$NGINX_PORT/"

# One of keel's answers, replayed by nginx byte for byte (its own Server and
# Date headers aside).
curl -s -D "$WORK/same.hdr" -o "$WORK/same.body" -X POST -H "Content-Type: application/json" \
  --data '{"domain":"bench","descriptors":[{"entries":[{"key":"user","value":"u1"}]}]}' \
  "http://127.0.0.1:$KEEL_PORT/json"
SAME_LOCATION="$(python3 - "$WORK/same.hdr" "$WORK/same.body" <<'PY'
import sys
headers = [l.rstrip("\r\n").split(": ", 1) for l in open(sys.argv[1]) if ": " in l]
body = open(sys.argv[2]).read()
assert "'" not in body and "\\" not in body, body
out = ["default_type application/json;"]
for k, v in headers:
    if k.lower() in ("traceparent",) or k.lower().startswith("ratelimit-"):
        out.append(f'add_header {k} "{v}";')
out.append(f"return 200 '{body}';")
print(" ".join(out))
PY
)"
start_nginx "$SAME_PORT" "$SAME_LOCATION"
wait_http "http://127.0.0.1:$SAME_PORT/"
echo "nginx-same answers: $(curl -s -i -X POST "http://127.0.0.1:$SAME_PORT/json" | grep -ci '^ratelimit-\|^traceparent') of keel's headers, $(curl -s -X POST "http://127.0.0.1:$SAME_PORT/json" | wc -c) body bytes (keel: $(wc -c < "$WORK/same.body"))"

# drive PORT PATH -> "rps p99_us non_2xx"
drive() {
  "${PIN_LOAD[@]}" "$KEEL" load "http://127.0.0.1:$1$2" -m POST --body "$BODY" \
    -H "Content-Type: application/json" -t 1 -c "$CONNECTIONS" -d "$DURATION" --json "$WORK/k.json" >/dev/null
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); e=r["errors"];
print(round(r["achieved_rate"]), round(1000 * r["latency_ms"]["uncorrected"]["p99"]), e["total"])' "$WORK/k.json"
}

declare -a K_RPS K_P99 N_RPS N_P99 S_RPS S_P99
for r in $(seq "$ROUNDS"); do
  read -r rps p99 err < <(drive "$NGINX_PORT" /json); N_RPS+=("$rps"); N_P99+=("$p99")
  echo "round $r nginx      : ${rps} rps, p99 ${p99} us, errors ${err}"
  read -r rps p99 err < <(drive "$SAME_PORT" /json); S_RPS+=("$rps"); S_P99+=("$p99")
  echo "round $r nginx-same : ${rps} rps, p99 ${p99} us, errors ${err}"
  read -r rps p99 err < <(drive "$KEEL_PORT" /json); K_RPS+=("$rps"); K_P99+=("$p99")
  echo "round $r ratelimit  : ${rps} rps, p99 ${p99} us, errors ${err}"
done

curl -sf "http://127.0.0.1:$KEEL_PORT/metrics" > "$WORK/metrics.txt"
python3 - "${K_RPS[*]}" "${K_P99[*]}" "${N_RPS[*]}" "${N_P99[*]}" "${S_RPS[*]}" "${S_P99[*]}" \
  "$WORK/metrics.txt" <<'PY'
import re, statistics, sys
k_rps, k_p99, n_rps, n_p99, s_rps, s_p99 = ([float(x) for x in a.split()] for a in sys.argv[1:7])
km, kp, nm, np_, sm, sp = (statistics.median(v) for v in (k_rps, k_p99, n_rps, n_p99, s_rps, s_p99))
print(f"median ratelimit : {km:.0f} rps, p99 {kp:.0f} us")
print(f"median nginx     : {nm:.0f} rps, p99 {np_:.0f} us")
print(f"median nginx-same: {sm:.0f} rps, p99 {sp:.0f} us")
print(f"ratio ratelimit/nginx: rps {km / nm:.2f}x, p99 {kp / np_:.2f}x")
print(f"ratio ratelimit/nginx-same: rps {km / sm:.2f}x, p99 {kp / sp:.2f}x")
buckets = [(float(le), float(v)) for le, v in re.findall(
    r'^keel_ratelimit_decision_seconds_bucket\{le="([^"]+)"\} (\S+)$', open(sys.argv[7]).read(), re.M)
    if le != "+Inf"]
total = float(re.search(r"^keel_ratelimit_decision_seconds_count (\S+)$", open(sys.argv[7]).read(), re.M).group(1))
for q in (0.5, 0.99, 0.999):
    le = next((b for b, c in buckets if c >= q * total), float("inf"))
    print(f"server-side decision p{q * 100:g} <= {le * 1e6:g} us ({total:.0f} decisions)")
PY
