#!/bin/sh
# Kills a PostgreSQL server at once, as if its host died: every process whose
# working directory is its data directory (the postmaster and all its
# children) is stopped, then SIGKILLed, and the time is written to OUT_FILE
# (unix ms) for rpo.py. A kill of the postmaster's process group would not
# do: each child calls setsid(), so the group holds the postmaster alone,
# and the backends and the walsender live on until they notice its death
# (a busy backend can still commit, its walsender still stream).
#   kill.sh DATA_DIR OUT_FILE
set -eu
data=$(readlink -f "$1") out=$2
pids=""
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/cwd" 2>/dev/null)" = "$data" ] && pids="$pids ${p#/proc/}"
done
[ -n "$pids" ] || { echo "kill.sh: no process runs in $data" >&2; exit 1; }
# shellcheck disable=SC2086
kill -STOP $pids
date +%s%3N > "$out"
# shellcheck disable=SC2086
kill -KILL $pids
echo "killed$pids at $(cat "$out")"
