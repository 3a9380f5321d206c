#!/bin/sh
# Promotes the standby on PORT and prints when it began and when pg_promote
# returned (unix ms), for the drill's timeline. pg_promote(true) checks
# every 100 ms whether promotion is done, so it returns up to 100 ms after.
# With KILL_FILE (written by kill.sh) it first waits until DETECT_MS after
# the kill: the time a failure detector would take, the same in every run.
#   promote.sh PORT [KILL_FILE DETECT_MS]
set -eu
port=$1
if [ $# -ge 3 ]; then
  for _ in $(seq 200); do [ -s "$2" ] && break; sleep 0.05; done
  [ -s "$2" ] || { echo "promote.sh: no kill time in $2" >&2; exit 1; }
  due=$(( $(cat "$2") + $3 ))
  while [ "$(date +%s%3N)" -lt "$due" ]; do sleep 0.01; done
fi
echo "promote_unix_ms $(date +%s%3N)"
psql -h 127.0.0.1 -p "$port" -U keel -d postgres -v ON_ERROR_STOP=1 -Atc "SELECT pg_promote(true, 30)"
echo "promoted_unix_ms $(date +%s%3N)"
