#!/usr/bin/env bash
# Rate limiter over HTTP vs the limiter users already have in front of their
# services: nginx's limit_req (ngx_http_limit_req_module, a leaky bucket per
# key in shared memory), keyed by the same user.
#
# 1. Throughput: decisions/s with a rate no key reaches, 100,000
#    Zipf-distributed users; keel `POST /json` {user: uN} vs nginx
#    `limit_req zone=$http_x_user` + `empty_gif` (1 worker / 1 HTTP thread,
#    closed loop, 64 connections, alternating rounds, medians).
# 2. Accuracy: 10 users each offered ~2x their limit (open loop, 2,000 req/s
#    spread at random over them) for DURATION; limit 100/s with a burst of 10
#    on both (keel: GCRA requests_per_unit 100, burst 10; nginx: rate=100r/s
#    burst=10 nodelay). The theoretical admitted count per user is
#    100/s x DURATION + 11; both sides' admitted totals are printed against it.
#
#   bash bench/ratelimit_limit_req.sh
#   ROUNDS=5 DURATION=10s bash bench/ratelimit_limit_req.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }

source "$ROOT/bench/lib/common.sh"
ratelimit_fixture  # $WORK/rules.yaml (a rate no key reaches) and $BODY

cat > "$WORK/accuracy.yaml" <<'YAML'
domain: bench
descriptors:
  - key: user
    rate_limit: {unit: second, requests_per_unit: 100, algorithm: gcra, burst: 10}
YAML

KEEL_PORT="$(free_port)"
KEEL_ACC_PORT="$(free_port)"
NGINX_PORT="$(free_port)"
NGINX_ACC_PORT="$(free_port)"
# limit_req_zone sits at http level, limit_req in the location. Not `return
# 200`: return runs in the rewrite phase, before limit_req (preaccess) is
# ever consulted; empty_gif answers in the content phase from memory (43 bytes).
start_limit_req_nginx() {  # PORT RATE BURST_ARGS
  start_nginx "$1" "limit_req zone=users$3; empty_gif;" \
    "limit_req_zone \$http_x_user zone=users:64m rate=${2}r/s; limit_req_status 429; limit_req_log_level info;"
}
# nginx's rate is stored in requests per 1000 s as an integer of r/s x 1000:
# 1,000,000 r/s is far above any key's share here.
start_limit_req_nginx "$NGINX_PORT" 1000000 ""
start_limit_req_nginx "$NGINX_ACC_PORT" 100 " burst=10 nodelay"
"${PIN_SERVER[@]}" "$KEEL" serve ratelimit --config "$WORK/rules.yaml" --threads 1 \
  --http "127.0.0.1:$KEEL_PORT" --grpc "127.0.0.1:$(free_port)" --log-level warn &
PIDS+=($!)
"${PIN_SERVER[@]}" "$KEEL" serve ratelimit --config "$WORK/accuracy.yaml" --threads 1 \
  --http "127.0.0.1:$KEEL_ACC_PORT" --grpc "127.0.0.1:$(free_port)" --log-level warn &
PIDS+=($!)
for p in "$KEEL_PORT" "$KEEL_ACC_PORT"; do wait_http "http://127.0.0.1:$p/healthz"; done
for p in "$NGINX_PORT" "$NGINX_ACC_PORT"; do wait_http "http://127.0.0.1:$p/"; done

# summary FILE -> "rps p99_us admitted answered"
summary() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]));
ok=sum(s["ok"] for s in r["seconds"]);
print(round(r["achieved_rate"]), round(1000 * r["latency_ms"]["uncorrected"]["p99"]), ok, r["completed"])' "$1"
}
keel_load() { "${PIN_LOAD[@]}" "$KEEL" load "$@" --json "$WORK/k.json" >/dev/null; summary "$WORK/k.json"; }

declare -a K_RPS N_RPS K_P99 N_P99
for r in $(seq "$ROUNDS"); do
  read -r rps p99 _ _ < <(keel_load "http://127.0.0.1:$NGINX_PORT/" -H 'X-User: u{{zipf:1.1:100000}}' \
    -t 1 -c "$CONNECTIONS" -d "$DURATION")
  N_RPS+=("$rps"); N_P99+=("$p99")
  echo "round $r nginx limit_req: ${rps} decisions/s, p99 ${p99} us"
  read -r rps p99 _ _ < <(keel_load "http://127.0.0.1:$KEEL_PORT/json" -m POST --body "$BODY" \
    -H "Content-Type: application/json" -t 1 -c "$CONNECTIONS" -d "$DURATION")
  K_RPS+=("$rps"); K_P99+=("$p99")
  echo "round $r keel /json       : ${rps} decisions/s, p99 ${p99} us"
done

ACC_BODY='{"domain":"bench","descriptors":[{"entries":[{"key":"user","value":"u{{rand:1:10}}"}]}]}'
read -r _ _ n_ok n_all < <(keel_load "http://127.0.0.1:$NGINX_ACC_PORT/" -H 'X-User: u{{rand:1:10}}' \
  -R 2000 -c 16 -d "$DURATION")
read -r _ _ k_ok k_all < <(keel_load "http://127.0.0.1:$KEEL_ACC_PORT/json" -m POST --body "$ACC_BODY" \
  -H "Content-Type: application/json" -R 2000 -c 16 -d "$DURATION")

python3 - "${K_RPS[*]}" "${K_P99[*]}" "${N_RPS[*]}" "${N_P99[*]}" "$n_ok" "$n_all" "$k_ok" "$k_all" \
  "${DURATION%s}" <<'PY'
import statistics, sys
k_rps, k_p99, n_rps, n_p99 = ([float(x) for x in a.split()] for a in sys.argv[1:5])
n_ok, n_all, k_ok, k_all, secs = (float(x) for x in sys.argv[5:10])
km, kp, nm, np_ = (statistics.median(v) for v in (k_rps, k_p99, n_rps, n_p99))
print(f"median keel /json        : {km:.0f} decisions/s, p99 {kp:.0f} us")
print(f"median nginx limit_req   : {nm:.0f} decisions/s, p99 {np_:.0f} us")
print(f"ratio keel/nginx limit_req: decisions/s {km / nm:.2f}x, p99 {kp / np_:.2f}x")
theory = 10 * (100 * secs + 11)
for name, ok, total in (("nginx limit_req", n_ok, n_all), ("keel gcra", k_ok, k_all)):
    print(f"accuracy {name:15}: admitted {ok:.0f} of {total:.0f} at ~2x the limit; "
          f"theoretical {theory:.0f} ({(ok - theory) / theory * 100:+.1f} %)")
PY
