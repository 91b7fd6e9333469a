#!/usr/bin/env bash
# Entrypoint of the lab's PostgreSQL image (Debian's postgresql-15): the part of the
# official postgres image's contract the kind scenario uses. On first start (no
# $PGDATA/PG_VERSION): initdb with the superuser password from POSTGRES_PASSWORD, source
# /docker-entrypoint-initdb.d/*.sh against a socket-only server, stop it. Then exec
# postgres with the container's arguments. Differences from the official image: the socket
# lives in /tmp (the image has no writable /var/run/postgresql), and only these variables
# are read.
set -euo pipefail
: "${PGDATA:?PGDATA is required}"
export PGHOST=/tmp
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required on first start}"
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username=postgres --pwfile="$pwfile" --auth-local=peer --auth-host=scram-sha-256 -D "$PGDATA"
  rm -f "$pwfile"
  printf "listen_addresses = '*'\nunix_socket_directories = '/tmp'\n" >>"$PGDATA/postgresql.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  for f in /docker-entrypoint-initdb.d/*.sh; do
    # shellcheck disable=SC1090
    [ -e "$f" ] && . "$f"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec postgres "$@"
