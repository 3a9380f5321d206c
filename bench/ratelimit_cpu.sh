#!/usr/bin/env bash
# Where a /json decision's time goes: server CPU per request (user and
# kernel, from /proc/PID/stat) of `keel serve ratelimit` answering POST /json
# and of `keel serve hello` answering GET /hello, each at the same fixed
# open-loop rate (so both do the same number of requests per second and
# neither is saturated), alternating rounds, medians. The difference is what
# the rate limiter adds on top of the HTTP runtime and the kernel.
#
#   bash bench/ratelimit_cpu.sh
#   RATE=50000 ROUNDS=5 bash bench/ratelimit_cpu.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
ROUNDS="${ROUNDS:-3}"
RATE="${RATE:-100000}"
[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }

source "$ROOT/bench/lib/common.sh"

ratelimit_fixture  # $WORK/rules.yaml and $BODY

RL_PORT="$(free_port)"
HELLO_PORT="$(free_port)"
"${PIN_SERVER[@]}" "$KEEL" serve ratelimit --config "$WORK/rules.yaml" --threads 1 \
  --http "127.0.0.1:$RL_PORT" --grpc "127.0.0.1:$(free_port)" --log-level warn &
RL_PID=$!
PIDS+=($RL_PID)
"${PIN_SERVER[@]}" "$KEEL" serve hello --threads 1 --http "127.0.0.1:$HELLO_PORT" --log-level warn &
HELLO_PID=$!
PIDS+=($HELLO_PID)
wait_http "http://127.0.0.1:$RL_PORT/healthz"
wait_http "http://127.0.0.1:$HELLO_PORT/hello"

TICK="$(getconf CLK_TCK)"
# measure PID URL [load args...] -> "user_us kernel_us" per request over the
# middle 4 s of a 6 s run.
measure() {
  local pid="$1" url="$2"
  shift 2
  "${PIN_LOAD[@]}" "$KEEL" load "$url" "$@" -t 1 -c 64 --rate "$RATE" -d 6s --json "$WORK/l.json" >/dev/null &
  local load=$!
  sleep 1
  local before after
  before="$(awk '{print $14, $15}' "/proc/$pid/stat")"
  sleep 4
  after="$(awk '{print $14, $15}' "/proc/$pid/stat")"
  wait "$load"
  python3 -c '
import json, sys
b, a, tick, rate = sys.argv[1].split(), sys.argv[2].split(), float(sys.argv[3]), float(sys.argv[4])
r = json.load(open(sys.argv[5]))
assert r["errors"]["total"] == 0, r["errors"]
per = lambda i: (float(a[i]) - float(b[i])) / tick / 4 / r["achieved_rate"] * 1e6
print(f"{per(0):.2f} {per(1):.2f}")' "$before" "$after" "$TICK" "$RATE" "$WORK/l.json"
}

declare -a RU RK HU HK
for r in $(seq "$ROUNDS"); do
  read -r u k < <(measure "$RL_PID" "http://127.0.0.1:$RL_PORT/json" -m POST --body "$BODY" \
    -H "Content-Type: application/json")
  RU+=("$u") RK+=("$k")
  echo "round $r ratelimit /json: user ${u} us, kernel ${k} us per request"
  read -r u k < <(measure "$HELLO_PID" "http://127.0.0.1:$HELLO_PORT/hello")
  HU+=("$u") HK+=("$k")
  echo "round $r hello /hello   : user ${u} us, kernel ${k} us per request"
done

python3 - "${RU[*]}" "${RK[*]}" "${HU[*]}" "${HK[*]}" "$RATE" <<'PY'
import statistics, sys
ru, rk, hu, hk = (statistics.median(float(x) for x in a.split()) for a in sys.argv[1:5])
print(f"at {float(sys.argv[5]):.0f} requests/s, median CPU per request:")
print(f"  ratelimit /json: user {ru:.2f} us + kernel {rk:.2f} us = {ru + rk:.2f} us")
print(f"  hello /hello   : user {hu:.2f} us + kernel {hk:.2f} us = {hu + hk:.2f} us")
print(f"  the rate limiter adds: user {ru - hu:+.2f} us, kernel {rk - hk:+.2f} us")
PY
