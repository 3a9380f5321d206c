#!/bin/sh
# Joins the six nodes into 3 primaries + 3 replicas (the first three given
# are the primaries, slots 0-5460, 5461-10922, 10923-16383), waits until the
# cluster is ok, then stays up as the lab's "cluster" process.
#   create.sh PORT1 ... PORT6
set -e
addrs=""
for p in "$@"; do addrs="$addrs 127.0.0.1:$p"; done
# shellcheck disable=SC2086
redis-cli --cluster create $addrs --cluster-replicas 1 --cluster-yes >/dev/null
for _ in $(seq 200); do
  ok=1
  for p in "$@"; do redis-cli -p "$p" cluster info | grep -q cluster_state:ok || ok=0; done
  [ "$ok" = 1 ] && break
  sleep 0.1
done
exec sleep 1000000
