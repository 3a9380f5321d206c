# Shared by the bench/*.sh scripts: a work dir cleaned up on exit, CPU
# pinning, free ports, and an nginx (1 worker, `return 200 "hello"`) reference.
# Source it after `set -euo pipefail`; it defines WORK, PIDS, PIN_SERVER,
# PIN_LOAD, free_port, start_nginx PORT [LOCATION], wait_http URL and
# ratelimit_fixture.

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Servers on core 1, the load generator on core 0, so that each side gets the
# same conditions whichever server runs (no pinning on a single core).
PIN_SERVER=() PIN_LOAD=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 1) PIN_LOAD=(taskset -c 0)
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

# start_nginx PORT [LOCATION] [HTTP]: LOCATION is the body of `location / {...}`
# (default: `return 200 "hello"`), HTTP extra http-level directives (e.g. a
# limit_req_zone); each port gets its own prefix directory.
start_nginx() {
  local port="$1"
  local location="${2:-default_type text/plain; return 200 \"hello\";}"
  local http_extra="${3:-}"
  [ -x "$NGINX" ] || { echo "bench: nginx not found; run scripts/install-deps.sh" >&2; exit 2; }
  local dir="$WORK/nginx-$port"
  mkdir -p "$dir/logs"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $dir/logs/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  $http_extra
  server {
    listen 127.0.0.1:$port;
    location / { $location }
  }
}
CONF
  "${PIN_SERVER[@]}" "$NGINX" -p "$dir" -c "$dir/nginx.conf" &
  PIDS+=($!)
}

wait_http() {
  for _ in $(seq 50); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "bench: $1 did not answer" >&2
  exit 1
}

# The rate limiter benches' rules and request: a token bucket per user with a
# limit no load reaches (every request decided and admitted), and a POST /json
# body for one of 100,000 Zipf-distributed users (a keel load template).
# Writes $WORK/rules.yaml and sets BODY.
ratelimit_fixture() {
  cat > "$WORK/rules.yaml" <<'YAML'
domain: bench
descriptors:
  - key: user
    rate_limit: {unit: second, requests_per_unit: 1000000000, algorithm: token_bucket}
YAML
  BODY='{"domain":"bench","descriptors":[{"entries":[{"key":"user","value":"u{{zipf:1.1:100000}}"}]}]}'
}
