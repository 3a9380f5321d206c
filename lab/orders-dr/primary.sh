#!/bin/sh
# The orders database's primary: initdb (trust for user keel, replication
# allowed from loopback), the database DB created in single-user mode, then
# exec postgres with wal_level=replica. MODE sync: commits wait until the
# standby has flushed their WAL (synchronous_standby_names '*',
# synchronous_commit on); async: they do not.
#   primary.sh DIR PORT DB sync|async
set -eu
dir=$1 port=$2 db=$3 mode=$4
. "$(dirname "$0")/common.sh"
case $mode in
  sync) standbys='*' ;;
  async) standbys='' ;;
  *) echo "primary.sh: MODE must be sync or async, got '$mode'" >&2; exit 2 ;;
esac
own_dir "$dir"
as_postgres sh -c '
  set -eu
  "$1/initdb" -D "$2/data" -U keel -A trust -E UTF8 --no-instructions >/dev/null
  echo "host replication keel 127.0.0.1/32 trust" >> "$2/data/pg_hba.conf"
  echo "CREATE DATABASE \"$3\"" | "$1/postgres" --single -D "$2/data" postgres >/dev/null
  exec "$1/postgres" -D "$2/data" -p "$4" -k "$2" -c listen_addresses=127.0.0.1 \
    -c wal_level=replica -c max_wal_senders=4 -c max_connections=200 \
    -c synchronous_standby_names="$5" -c synchronous_commit=on \
    -c log_min_messages=warning
' primary.sh "$PGBIN" "$dir" "$db" "$port" "$standbys"
