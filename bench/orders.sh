#!/usr/bin/env bash
# The orders saga end to end vs pgbench on the same PostgreSQL (issue 13):
# one PostgreSQL 15 (fsync on, synchronous_commit and full_page_writes at
# their defaults: a real deployment's durability), one nats-server -js,
# `keel serve payment-sim` (no latency, no faults) and `keel serve shop`
# (orders, inventory and payments in one process; their messages still go
# through JetStream).
#  1. pgbench -i -s 10 once, then per round TPC-B (the default script,
#     -c 8 -j 2 -M prepared, DURATION): tps;
#  2. per round, POST /v1/orders driven by `keel load` open loop for
#     DURATION per rate, a unique Idempotency-Key per request, one customer
#     per step, in a step search from RATE_START: up by xSTEP while rates
#     hold, down while they fail, then one rate between the last good and
#     the first failed (the next round starts at this one's result). A rate
#     is sustained when errors <= 0.1 %, the achieved rate >= 99 % of the
#     requested one, the accept p99 (corrected; every answer is a 201 then)
#     <= 50 ms, and every order of the step is CONFIRMED within DRAIN
#     seconds after the load stops (counted in orders.orders);
#  3. at each sustained rate, keel_outbox_publish_delay_seconds (all three
#     outboxes) read from /metrics before and after the step: the p99 of
#     that step's events, interpolated within its bucket.
# Servers on core 1, the drivers (pgbench, keel load) on core 0. Prints
# per round and the medians: orders/s, accept p99, pgbench tps, the ratio
# orders/s / tps (target >= 0.5x), the outbox p99 (target <= 50 ms).
#
#   bash bench/orders.sh
#   ROUNDS=5 DURATION=10s RATE_START=100 bash bench/orders.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
RATE_START="${RATE_START:-30}"  # orders/s, the first step
STEP="${STEP:-1.5}"              # each step's rate over the previous one
MAX_STEPS="${MAX_STEPS:-8}"      # per round, the search's rates
DRAIN="${DRAIN:-5}"              # seconds after the load for every order to be CONFIRMED
CONNECTIONS="${CONNECTIONS:-64}"
[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$PG_BIN/postgres" ] || { echo "bench: no PostgreSQL server under /usr/lib/postgresql" >&2; exit 2; }
command -v pgbench >/dev/null && command -v nats-server >/dev/null ||
  { echo "bench: pgbench or nats-server missing (scripts/install-deps.sh)" >&2; exit 2; }

source "$ROOT/bench/lib/common.sh"

# PostgreSQL refuses root: as root it runs as the postgres user, in a
# directory of its own. A fast shutdown (SIGINT) first, so that cleanup's
# SIGTERM (a smart shutdown) never waits on a session.
PG_USER=()
mkdir -p "$WORK/pg"
if [ "$(id -u)" -eq 0 ]; then
  chmod 711 "$WORK"
  chown postgres: "$WORK/pg"
  PG_USER=(setpriv --reuid postgres --regid postgres --init-groups)
fi
PG_PID=""
stop_pg() {
  [ -n "$PG_PID" ] && kill -INT "$PG_PID" 2>/dev/null && wait "$PG_PID" 2>/dev/null
  return 0
}
trap 'stop_pg; cleanup' EXIT

PG_PORT="$(free_port)"
"${PG_USER[@]}" "$PG_BIN/initdb" -D "$WORK/pg/data" -U keel -A trust -E UTF8 --no-instructions >/dev/null
"${PIN_SERVER[@]}" "${PG_USER[@]}" "$PG_BIN/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pg" \
  -c listen_addresses=127.0.0.1 -c max_connections=200 -c log_min_messages=warning \
  >"$WORK/pg/log" 2>&1 &
PG_PID=$!
PIDS+=($PG_PID)
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U keel -v ON_ERROR_STOP=1 -qAt)
for _ in $(seq 100); do "${PSQL[@]}" -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
"${PSQL[@]}" -d postgres -c 'CREATE DATABASE shop' -c 'CREATE DATABASE pgbench'
show() { "${PSQL[@]}" -d postgres -c "SHOW $1"; }
echo "postgres $(show server_version): fsync $(show fsync), synchronous_commit $(show synchronous_commit)"

NATS_PORT="$(free_port)"
"${PIN_SERVER[@]}" nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$WORK/js" >"$WORK/nats.log" 2>&1 &
NATS_PID=$!
PIDS+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break; sleep 0.1; done

SIM_PORT="$(free_port)"
"${PIN_SERVER[@]}" "$KEEL" serve payment-sim --http "127.0.0.1:$SIM_PORT" --log-level warn &
PIDS+=($!)
wait_http "http://127.0.0.1:$SIM_PORT/v1/stats"
SHOP_PORT="$(free_port)"
SHOP="http://127.0.0.1:$SHOP_PORT"
"${PIN_SERVER[@]}" "$KEEL" serve shop --http "127.0.0.1:$SHOP_PORT" --log-level warn \
  --set "postgres.url=postgresql://keel@127.0.0.1:$PG_PORT/shop" \
  --set "nats.url=nats://127.0.0.1:$NATS_PORT" \
  --set "payments.provider_url=http://127.0.0.1:$SIM_PORT" 2>"$WORK/shop.log" &
SHOP_PID=$!
PIDS+=($!)
wait_http "$SHOP/metrics"
curl -sf -X PUT "$SHOP/v1/inventory/B" -d '{"on_hand":1000000000000}' >/dev/null

"${PIN_LOAD[@]}" pgbench -h 127.0.0.1 -p "$PG_PORT" -U keel -i -s 10 -q pgbench 2>"$WORK/pgbench-init.log" ||
  { cat "$WORK/pgbench-init.log" >&2; exit 1; }

# tpcb -> tps (without the initial connection time)
tpcb() {
  "${PIN_LOAD[@]}" pgbench -h 127.0.0.1 -p "$PG_PORT" -U keel -c 8 -j 2 -T "${DURATION%s}" -M prepared pgbench 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\) .*without.*/\1/p'
}

# The delay histogram of every outbox, summed: "le count" lines.
outbox_buckets() {
  curl -sf "$SHOP/metrics" | python3 -c '
import re, sys, collections
b = collections.Counter()
for line in sys.stdin:
    m = re.match(r"keel_outbox_publish_delay_seconds_bucket\{.*le=\"([^\"]+)\".*\} (\S+)", line)
    if m: b[m.group(1)] += float(m.group(2))
for le, n in b.items(): print(le, int(n))'
}

# CPU seconds so far of shop, PostgreSQL (the postmaster and every backend)
# and nats-server: "shop postgres nats". The provider simulator stands for
# a service outside ours and is left out.
cpu() {
  python3 - "$SHOP_PID" "$PG_PID" "$NATS_PID" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
def times(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / hz, int(f[1])
    except (OSError, IndexError):
        return 0.0, 0
shop, pg, nats = (int(p) for p in sys.argv[1:])
pg_total = times(pg)[0]
for d in os.listdir("/proc"):
    if d.isdigit() and int(d) != pg:
        t, ppid = times(int(d))
        if ppid == pg: pg_total += t
print(times(shop)[0], pg_total, times(nats)[0])
PY
}

# orders CUSTOMER RATE DURATION -> "achieved p99_ms errors completed confirmed all waited_s outbox_p99_ms
# not_confirmed" (the last: status:count,... of the orders not CONFIRMED, or -)
orders() {
  local customer="$1" rate="$2" duration="$3"
  outbox_buckets > "$WORK/before"
  cpu > "$WORK/cpu-before"
  "${PIN_LOAD[@]}" "$KEEL" load "$SHOP/v1/orders" -m POST -t 1 -c "$CONNECTIONS" -R "$rate" -d "$duration" \
    -H 'Content-Type: application/json' -H 'Idempotency-Key: {{uuid}}' \
    --body "{\"customer_id\":\"$customer\",\"items\":[{\"sku\":\"B\",\"qty\":1}],\"payment_token\":\"tok_visa\",\"amount_cents\":1000,\"currency\":\"USD\"}" \
    --json "$WORK/load.json" >/dev/null
  local confirmed=0 all=0 waited=0 t0
  t0="$(date +%s.%N)"
  while :; do
    read -r confirmed all < <("${PSQL[@]}" -d shop -F ' ' -c \
      "SELECT count(*) FILTER (WHERE status = 'CONFIRMED'), count(*) FROM orders.orders WHERE customer_id = '$customer'")
    waited="$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")"
    [ "$confirmed" = "$all" ] && break
    python3 -c "import sys; sys.exit(float(sys.argv[1]) < float(sys.argv[2]))" "$waited" "$DRAIN" && break
    sleep 0.2
  done
  outbox_buckets > "$WORK/after"
  cpu > "$WORK/cpu-after"
  local open
  open="$("${PSQL[@]}" -d shop -c "SELECT COALESCE(string_agg(status || ':' || n, ',' ORDER BY status), '-') FROM
    (SELECT status, count(*) AS n FROM orders.orders WHERE customer_id = '$customer' AND status <> 'CONFIRMED'
     GROUP BY status) s")"
  python3 - "$WORK/load.json" "$WORK/before" "$WORK/after" "$confirmed" "$all" "$waited" "$open" \
    "$WORK/cpu-before" "$WORK/cpu-after" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
def read(path):
    return {float(le): int(n) for le, n in (line.split() for line in open(path))}
before, after = read(sys.argv[2]), read(sys.argv[3])
delta = sorted((le, after[le] - before.get(le, 0)) for le in after)
p99 = float("nan")
if delta and delta[-1][1] > 0:
    want, prev_le, prev_n = 0.99 * delta[-1][1], 0.0, 0
    for le, n in delta:  # as Prometheus' histogram_quantile: linear within the bucket
        if n >= want:
            p99 = le if math.isinf(le) else prev_le + (le - prev_le) * (want - prev_n) / max(n - prev_n, 1)
            break
        prev_le, prev_n = le, n
# CPU per order, ms: the step's CPU (load and drain) over its orders.
c0 = [float(x) for x in open(sys.argv[8]).read().split()]
c1 = [float(x) for x in open(sys.argv[9]).read().split()]
n = max(int(sys.argv[5]), 1)
cpu = "/".join(f"{1000 * (b - a) / n:.2f}" for a, b in zip(c0, c1))
print(round(r["achieved_rate"], 1), round(r["latency_ms"]["corrected"]["p99"], 2), r["errors"]["total"],
      r["completed"], sys.argv[4], sys.argv[5], sys.argv[6], round(1000 * p99, 1), sys.argv[7], cpu)
PY
}

# sustained RATE ACHIEVED P99 ERRORS COMPLETED CONFIRMED ALL WAITED -> exit status 0 when it held
sustained() {
  python3 - "$@" "$DRAIN" <<'PY'
import sys
rate, achieved, p99, errors, completed, confirmed, all_, waited, drain = map(float, sys.argv[1:])
sys.exit(not (errors <= 0.001 * max(completed, 1) and achieved >= 0.99 * rate and p99 <= 50
              and confirmed == all_ and all_ >= completed - errors and waited <= drain))
PY
}

# Orders still open from a failed step would weigh on the next one.
settle() {
  for _ in $(seq 300); do
    [ "$("${PSQL[@]}" -d shop -c "SELECT count(*) FROM orders.orders WHERE status NOT IN ('CONFIRMED', 'CANCELLED')")" = 0 ] && return
    sleep 0.2
  done
  echo "bench: orders still open 60 s after a step" >&2
}

orders warmup 20 3s >/dev/null  # connections, prepared statements, the consumers' first fetches

# The search per round: up by STEP while rates hold, down by STEP while they
# fail, then one rate between the last good and the first failed one.
declare -a TPS RATE P99 OUTBOX
for r in $(seq "$ROUNDS"); do
  tps="$(tpcb)"; tps="${tps%.*}"; TPS+=("$tps")
  echo "round $r pgbench TPC-B   : ${tps} tps (-c 8 -j 2 -M prepared, scale 10)"
  rate="$RATE_START" good="" bad="" bisected="" best=()
  for s in $(seq "$MAX_STEPS"); do
    read -r achieved p99 errors completed confirmed all waited outbox open cpu < <(orders "r${r}s${s}" "$rate" "$DURATION")
    if sustained "$rate" "$achieved" "$p99" "$errors" "$completed" "$confirmed" "$all" "$waited"; then
      verdict=ok good="$rate"
      best=("$achieved" "$p99" "$outbox")
    else
      verdict=fail bad="$rate"
    fi
    echo "round $r orders @ ${rate}/s : ${achieved}/s, accept p99 ${p99} ms, errors ${errors}," \
      "${confirmed}/${all} CONFIRMED after ${waited} s (others: ${open}), outbox p99 ${outbox} ms," \
      "CPU/order shop/postgres/nats ${cpu} ms: ${verdict}"
    settle
    [ -n "$bisected" ] && break
    if [ -z "$bad" ]; then
      rate="$(python3 -c "import sys; print(round(float(sys.argv[1]) * float(sys.argv[2])))" "$rate" "$STEP")"
    elif [ -z "$good" ]; then
      rate="$(python3 -c "import sys; print(round(float(sys.argv[1]) / float(sys.argv[2])))" "$rate" "$STEP")"
      [ "$rate" -ge 1 ] || break
    else
      rate="$(python3 -c "import math,sys; print(round(math.sqrt(float(sys.argv[1]) * float(sys.argv[2]))))" "$good" "$bad")"
      bisected=1
      [ "$rate" -gt "$good" ] && [ "$rate" -lt "$bad" ] || break
    fi
  done
  if [ -z "$good" ]; then
    echo "round $r: no rate sustained down to ${rate}/s"
    RATE+=(0) P99+=(nan) OUTBOX+=(nan)
  else
    RATE+=("${best[0]}") P99+=("${best[1]}") OUTBOX+=("${best[2]}")
    echo "round $r sustained      : ${best[0]} orders/s, accept p99 ${best[1]} ms, outbox p99 ${best[2]} ms"
    RATE_START="$good"  # the next round searches around this round's result
  fi
done

python3 - "${TPS[*]}" "${RATE[*]}" "${P99[*]}" "${OUTBOX[*]}" <<'PY'
import statistics, sys
tps, rate, p99, outbox = ([float(x) for x in a.split()] for a in sys.argv[1:5])
t, o, p, d = (statistics.median(v) for v in (tps, rate, p99, outbox))
print(f"median pgbench TPC-B     : {t:.0f} tps")
print(f"median orders sustained  : {o:.0f} orders/s, accept p99 {p:.1f} ms (target <= 50 ms)")
print(f"ratio orders/s / tps     : {o / t:.3f}x (target >= 0.5x)")
print(f"median outbox p99        : {d:.1f} ms commit -> ack at the sustained rate (target <= 50 ms)")
PY
