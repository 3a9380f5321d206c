#!/bin/sh
# PostgreSQL 15 for a lab scenario: initdb on first start (trust auth for the
# user keel, on loopback), then exec postgres, so that the lab's signals reach
# the postmaster and its backends (one process group). Run as root, the
# server runs as the user postgres: it refuses root.
#   postgres.sh DATA_DIR PORT [postgres -c options...]
set -eu
DATA="$1"; PORT="$2"; shift 2
BIN=/usr/lib/postgresql/15/bin
AS=""
if [ "$(id -u)" = 0 ]; then
  chown postgres "$(dirname "$DATA")" 2>/dev/null || true
  mkdir -p "$DATA" && chown postgres "$DATA"
  AS="setpriv --reuid=postgres --regid=postgres --init-groups"
  if ! $AS test -w "$DATA"; then
    echo "postgres.sh: the user postgres cannot reach $DATA: make the directories above it traversable (chmod o+x)" >&2
    exit 1
  fi
fi
if [ ! -f "$DATA/PG_VERSION" ]; then
  $AS "$BIN/initdb" -D "$DATA" -U keel --auth=trust --no-sync >/dev/null
fi
exec $AS "$BIN/postgres" -D "$DATA" -p "$PORT" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories="$DATA" -c max_connections=200 "$@"
