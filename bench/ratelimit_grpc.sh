#!/usr/bin/env bash
# Envoy RLS v3 over gRPC: `keel serve ratelimit` vs a minimal grpc++ unary
# server (bench/grpc_minimal_rls.cc: answers OK, no limiting), both driven
# by `keel load rls://` in closed loop, alternating rounds -> median rps and
# p50/p99 of each and the ratio keel/minimal.
#
# Runs only the minimal server (and says so) while `keel serve ratelimit`
# does not exist (detected from `keel help serve`).
#
#   bash bench/ratelimit_grpc.sh
#   ROUNDS=5 DURATION=20s CONNECTIONS=64 bash bench/ratelimit_grpc.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KEEL="${KEEL:-$ROOT/build/keel}"
MINIMAL="${MINIMAL:-$ROOT/build/bench/grpc_minimal_rls}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"

[ -x "$KEEL" ] || { echo "bench: $KEEL not built; run make build" >&2; exit 2; }
[ -x "$MINIMAL" ] || { echo "bench: $MINIMAL not built; run make build" >&2; exit 2; }

source "$ROOT/bench/lib/common.sh"

wait_port() {
  for _ in $(seq 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$1" \
      2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on 127.0.0.1:$1" >&2
  exit 1
}

MIN_PORT="$(free_port)"
"${PIN_SERVER[@]}" "$MINIMAL" "127.0.0.1:$MIN_PORT" >/dev/null &
PIDS+=($!)
wait_port "$MIN_PORT"

HAVE_KEEL=0
if "$KEEL" help serve 2>/dev/null | grep -qE '^[[:space:]]+ratelimit([[:space:]]|$)'; then
  HAVE_KEEL=1
  cat > "$WORK/ratelimit.yaml" <<'YAML'
domain: bench
descriptors:
  - key: k
    rate_limit: {unit: second, requests_per_unit: 1000000000}
YAML
  KEEL_PORT="$(free_port)"
  "${PIN_SERVER[@]}" "$KEEL" serve ratelimit --config "$WORK/ratelimit.yaml" \
    --grpc "127.0.0.1:$KEEL_PORT" --http 127.0.0.1:0 >/dev/null 2>"$WORK/keel-serve.log" &
  PIDS+=($!)
  wait_port "$KEEL_PORT"
else
  echo "bench: \`keel serve ratelimit\` not available in $KEEL; measuring the minimal server only"
fi

# Prints "rps p50_ms p99_ms" of one closed-loop run against PORT.
run() {
  "${PIN_LOAD[@]}" "$KEEL" load "rls://127.0.0.1:$1" --domain bench --descriptor 'k=v' \
    -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --json "$WORK/r.json" >/dev/null
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = r["latency_ms"]["corrected"]
if r["errors"]["total"]:
    print("bench: errors", r["errors"], file=sys.stderr)
print(round(r["achieved_rate"]), c["p50"], c["p99"])' "$WORK/r.json"
}

show() {
  local rps p50 p99
  read -r rps p50 p99 <<<"$2"
  echo "round $1: $rps rps, p50 $p50 ms, p99 $p99 ms"
}

M=() K=()
for r in $(seq "$ROUNDS"); do
  m="$(run "$MIN_PORT")"; M+=("$m"); show "$r minimal grpc++ " "$m"
  if [ "$HAVE_KEEL" = 1 ]; then
    k="$(run "$KEEL_PORT")"; K+=("$k"); show "$r keel ratelimit" "$k"
  fi
done

python3 - "$(printf '%s\n' "${M[@]}")" "$(printf '%s\n' "${K[@]+"${K[@]}"}")" <<'PY'
import statistics, sys
def med(block):
    rows = [list(map(float, l.split())) for l in block.splitlines() if l.strip()]
    if not rows:
        return None
    return [statistics.median(col) for col in zip(*rows)]
m, k = med(sys.argv[1]), med(sys.argv[2])
print(f"median minimal grpc++ : {m[0]:.0f} rps, p50 {m[1]:.3f} ms, p99 {m[2]:.3f} ms")
if k:
    print(f"median keel ratelimit: {k[0]:.0f} rps, p50 {k[1]:.3f} ms, p99 {k[2]:.3f} ms")
    print(f"ratio keel/minimal: rps {k[0] / m[0]:.2f}x, p99 {k[2] / m[2]:.2f}x")
PY
