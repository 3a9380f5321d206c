#!/bin/sh
# Promotes the standby on PORT and prints when it began and when pg_promote
# returned (unix ms), for the drill's timeline. pg_promote(true) checks
# every 100 ms whether promotion is done, so it returns up to 100 ms after.
#   promote.sh PORT
set -eu
port=$1
echo "promote_unix_ms $(date +%s%3N)"
psql -h 127.0.0.1 -p "$port" -U keel -d postgres -v ON_ERROR_STOP=1 -Atc "SELECT pg_promote(true, 30)"
echo "promoted_unix_ms $(date +%s%3N)"
