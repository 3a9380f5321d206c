# Sourced by primary.sh and replica.sh: PostgreSQL's binaries, and as_postgres
# to run them as the `postgres` user when the lab runs as root (PostgreSQL
# refuses to run as root). setpriv execs, so the server stays the process the
# lab started (and leads its process group, which a kill fault signals).
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  fi
  exec "$@"
}
own_dir() {
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$1"; fi
  chmod 700 "$1"
}
