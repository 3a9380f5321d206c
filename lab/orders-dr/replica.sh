#!/bin/sh
# A streaming replica of the primary on PRIMARY_PORT: waits for it,
# pg_basebackup -R (standby.signal and primary_conninfo written), then exec
# postgres as a hot standby. synchronous_standby_names is empty here, so once
# promoted it commits without waiting for a standby it does not have.
#   replica.sh DIR PORT PRIMARY_PORT
set -eu
dir=$1 port=$2 primary=$3
. "$(dirname "$0")/common.sh"
own_dir "$dir"
for _ in $(seq 300); do
  pg_isready -q -h 127.0.0.1 -p "$primary" -U keel -d postgres && break
  sleep 0.1
done
as_postgres sh -c '
  set -eu
  pg_basebackup -h 127.0.0.1 -p "$3" -U keel -D "$2/data" -R -X stream -c fast
  exec "$1/postgres" -D "$2/data" -p "$4" -k "$2" -c listen_addresses=127.0.0.1 \
    -c hot_standby=on -c max_connections=200 -c synchronous_standby_names= \
    -c log_min_messages=warning
' replica.sh "$PGBIN" "$dir" "$primary" "$port"
