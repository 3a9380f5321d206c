#!/usr/bin/env bash
# Runs a command as one named stage of `make test` and prints its wall time,
# so a slow stage is visible in CI's log:  timed.sh NAME CMD [ARGS...]
name=$1
shift
start=$(date +%s)
"$@"
rc=$?
echo "== stage ${name}: $(( $(date +%s) - start ))s (exit ${rc})"
exit "${rc}"
