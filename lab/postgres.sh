#!/usr/bin/env bash
# A real PostgreSQL 15 for the ardur.spire lab: the SPIRE servers' shared datastore.
#
# Usage: lab/postgres.sh up|down|restart|status|vars|admin-vars|sql SQL [DATABASE]
#
#   up       initialise (once) and start; idempotent
#   down     pg_ctl stop -m fast; leaves no process
#   restart  pg_ctl restart -m fast (the lab tests use it)
#   status   exit 0 when running and accepting connections, 3 otherwise
#   vars     print the path of the vars file for the postgres_secret role
#   admin-vars  print the path of the admin connection's vars file (lab_postgres_admin_*)
#   sql      run SQL as the `postgres` superuser (peer, unix socket) on DATABASE (default
#            spire); prints rows unaligned, '|' between columns (tests read
#            pg_stat_activity and pg_roles with it)
#
# What it runs: Debian's PostgreSQL 15 (/usr/lib/postgresql/15/bin, installed with
# apt-get when missing) as the `postgres` system user, never as root. Listens on
# 127.0.0.1:${ARDUR_SPIRE_LAB_PG_PORT:-25432} only, TLS on (a test CA made with openssl,
# server certificate with SAN 127.0.0.1 and localhost, TLS 1.2 minimum). pg_hba has
# one local peer line for the `postgres` admin and `hostssl` scram-sha-256 lines for
# role `spire` on database `spire`; no plain `host` line. Role `spire` is LOGIN only
# (no superuser, createdb, createrole, replication, bypassrls) and owns database
# `spire`. Its random password is generated once and kept 0600 in the state dir.
# For the credential rotation runbook: `hostssl` lines also admit members of `spire`
# (`+spire`: second login roles that act as it) on database `spire`, and role
# `spire_admin` (LOGIN CREATEROLE, nothing else; password kept like spire's) may log
# in over TLS to database `postgres` to create, alter and revoke those login roles.
#
# State: ${ARDUR_SPIRE_LAB_DIR:-${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}/lab}/postgres
#   data/ (PGDATA), tls/ (server cert/key, owned by postgres), ca/ (test CA, root 0600),
#   run/ (unix socket), log/postgres.log, spire.password, postgres_secret_vars.yml
#
# The state dir usually sits under /root (mode 0700), which the postgres user cannot
# traverse. Rather than loosen /root, every PostgreSQL command runs in a private mount
# namespace (unshare -m) where the state dir is bind-mounted at $PG_NS_ROOT; the
# postmaster keeps that namespace, and nothing is mounted in the host namespace.
set -euo pipefail

CACHE=${ARDUR_SPIRE_CACHE:-$HOME/.cache/ardur-spire}
LAB_STATE=${ARDUR_SPIRE_LAB_DIR:-$CACHE/lab}
PG_DIR=$LAB_STATE/postgres
PG_PORT=${ARDUR_SPIRE_LAB_PG_PORT:-25432}
PG_HOST=127.0.0.1
PG_BIN=${ARDUR_SPIRE_LAB_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=postgres
PG_NS_ROOT=/run/ardur-spire-lab-postgres
DB_NAME=spire
DB_ROLE=spire
ADMIN_ROLE=spire_admin
ADMIN_VARS_FILE=$PG_DIR/admin_vars.yml
VARS_FILE=$PG_DIR/postgres_secret_vars.yml
TIMEOUT=${ARDUR_SPIRE_LAB_TIMEOUT:-60}

log() { printf '[postgres] %s\n' "$*" >&2; }
die() { printf '[postgres] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it starts PostgreSQL as the '$PG_USER' user)"

# as_pg CMD...: run CMD as the postgres user, in a private mount namespace where
# $PG_DIR is visible at $PG_NS_ROOT.
as_pg() {
  mkdir -p "$PG_NS_ROOT"
  # shellcheck disable=SC2016  # the inner script expands its own arguments
  unshare --mount --propagation private -- /bin/sh -c \
    'mount --bind "$0" "$1" && shift && exec setpriv --reuid="$PGU" --regid="$PGU" --init-groups -- "$@"' \
    "$PG_DIR" "$PG_NS_ROOT" "$@"
}
export PGU=$PG_USER

ensure_packages() {
  if [[ ! -x $PG_BIN/postgres ]]; then
    log "installing Debian's postgresql-15"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    # The package may start a cluster of its own on 5432; the lab never uses it.
  fi
  [[ -x $PG_BIN/postgres ]] || die "no PostgreSQL 15 in $PG_BIN"
  getent passwd "$PG_USER" >/dev/null || die "no '$PG_USER' system user"
}

# ------------------------------------------------------------------------- TLS --
make_tls() {
  [[ -s $PG_DIR/tls/server.crt ]] && return 0
  log "making the test CA and the server certificate (openssl)"
  local ca=$PG_DIR/ca tls=$PG_DIR/tls tmp
  mkdir -p "$ca" "$tls"
  chmod 0700 "$ca"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca/ca.key" 2>/dev/null
  chmod 0600 "$ca/ca.key"
  openssl req -x509 -new -key "$ca/ca.key" -subj "/CN=ardur-spire-lab-postgres-ca" \
    -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$ca/ca.crt"
  tmp=$(mktemp -d)
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tls/server.key" 2>/dev/null
  openssl req -new -key "$tls/server.key" -subj "/CN=localhost" -out "$tmp/server.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$tmp/ext.cnf"
  openssl x509 -req -in "$tmp/server.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile "$tmp/ext.cnf" -out "$tls/server.crt" 2>/dev/null
  rm -rf "$tmp"
  cp "$ca/ca.crt" "$tls/ca.crt"
  chown -R "$PG_USER:" "$tls"
  chmod 0700 "$tls"
  chmod 0600 "$tls/server.key"
}

# ---------------------------------------------------------------------- initdb --
init_cluster() {
  [[ -s $PG_DIR/data/PG_VERSION ]] && return 0
  log "initdb $PG_DIR/data"
  mkdir -p "$PG_DIR/data" "$PG_DIR/run" "$PG_DIR/log"
  chown "$PG_USER:" "$PG_DIR/data" "$PG_DIR/run" "$PG_DIR/log"
  chmod 0700 "$PG_DIR/data" "$PG_DIR/run"
  as_pg "$PG_BIN/initdb" -D "$PG_NS_ROOT/data" -U "$PG_USER" --encoding=UTF8 --locale=C \
    --auth-local=peer --auth-host=scram-sha-256 >"$PG_DIR/log/initdb.log"
}

write_config() {
  # Rewritten on every up, so a change here reaches an existing cluster.
  local data=$PG_DIR/data
  cat >"$data/ardur-lab.conf" <<EOF
# Written by lab/postgres.sh; included from postgresql.conf.
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_NS_ROOT/run'
unix_socket_permissions = 0700
max_connections = 400
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$PG_NS_ROOT/tls/server.crt'
ssl_key_file = '$PG_NS_ROOT/tls/server.key'
ssl_min_protocol_version = 'TLSv1.2'
log_connections = on
log_disconnections = on
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  grep -qx "include 'ardur-lab.conf'" "$data/postgresql.conf" ||
    printf "\ninclude 'ardur-lab.conf'\n" >>"$data/postgresql.conf"
  cat >"$data/pg_hba.conf" <<EOF
# Written by lab/postgres.sh. TYPE DATABASE USER ADDRESS METHOD
local   all        $PG_USER                   peer
hostssl $DB_NAME      $DB_ROLE    127.0.0.1/32     scram-sha-256
hostssl $DB_NAME      $DB_ROLE    ::1/128          scram-sha-256
hostssl $DB_NAME      +$DB_ROLE   127.0.0.1/32     scram-sha-256
hostssl $DB_NAME      +$DB_ROLE   ::1/128          scram-sha-256
hostssl postgres      $ADMIN_ROLE 127.0.0.1/32     scram-sha-256
hostssl postgres      $ADMIN_ROLE ::1/128          scram-sha-256
EOF
  chown "$PG_USER:" "$data/ardur-lab.conf" "$data/pg_hba.conf"
  chmod 0600 "$data/ardur-lab.conf" "$data/pg_hba.conf"
}

running() {
  [[ -s $PG_DIR/data/postmaster.pid ]] || return 1
  local pid
  pid=$(head -n 1 "$PG_DIR/data/postmaster.pid")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    grep -q postgres "/proc/$pid/comm" 2>/dev/null
}

wait_ready() {
  local i
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if as_pg "$PG_BIN/pg_isready" -q -h "$PG_NS_ROOT/run" -p "$PG_PORT"; then
      return 0
    fi
    sleep 0.5
  done
  die "PostgreSQL not ready after ${TIMEOUT}s; log: $PG_DIR/log/postgres.log"
}

start_server() {
  if running; then
    log "already running (pid $(head -n 1 "$PG_DIR/data/postmaster.pid"))"
    return 0
  fi
  as_pg "$PG_BIN/pg_ctl" start -w -t "$TIMEOUT" -D "$PG_NS_ROOT/data" \
    -l "$PG_NS_ROOT/log/postgres.log" >/dev/null ||
    die "pg_ctl start failed; log: $PG_DIR/log/postgres.log"
  wait_ready
  log "running on $PG_HOST:$PG_PORT (pid $(head -n 1 "$PG_DIR/data/postmaster.pid"))"
}

psql_admin() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_NS_ROOT/run" -p "$PG_PORT" \
    -d postgres "$@"
}

# A generated password kept in $PG_DIR/NAME.password (0600), made once.
stored_password() {
  local pwfile=$PG_DIR/$1.password
  if [[ ! -s $pwfile ]]; then
    (umask 077 && openssl rand -hex 24 >"$pwfile")
  fi
  chmod 0600 "$pwfile"
  printf '%s' "$(<"$pwfile")"
}

ensure_role_and_db() {
  local password
  password=$(stored_password spire)
  # The password reaches psql on stdin (a psql variable), never on a command line.
  psql_admin -v pw="$password" -v role="$DB_ROLE" -v db="$DB_NAME" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
SQL
}

# The admin login of the rotation runbook: CREATEROLE only (PostgreSQL 15 lets it create,
# alter and grant non-superuser roles); its password reaches psql on stdin as above.
ensure_admin_role() {
  local password
  password=$(stored_password admin)
  psql_admin -v pw="$password" -v role="$ADMIN_ROLE" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'pw';
SQL
  (
    umask 077
    cat >"$ADMIN_VARS_FILE.tmp" <<EOF
# Written by lab/postgres.sh: the admin connection of the lab PostgreSQL (TLS, verify-full).
lab_postgres_admin_host: "$PG_HOST"
lab_postgres_admin_port: $PG_PORT
lab_postgres_admin_database: postgres
lab_postgres_admin_user: "$ADMIN_ROLE"
lab_postgres_admin_password: "$password"
lab_postgres_admin_ca_file: "$PG_DIR/ca/ca.crt"
EOF
  )
  mv -f "$ADMIN_VARS_FILE.tmp" "$ADMIN_VARS_FILE"
  chmod 0600 "$ADMIN_VARS_FILE"
}

# Input names of roles/postgres_secret (prefix postgres_secret_).
write_vars() {
  local password
  password=$(<"$PG_DIR/spire.password")
  (
    umask 077
    cat >"$VARS_FILE.tmp" <<EOF
# Written by lab/postgres.sh: inputs of roles/postgres_secret for the lab PostgreSQL.
# Pass with: ansible-playbook playbooks/deploy.yml -e @$VARS_FILE
postgres_secret_host: "$PG_HOST"
postgres_secret_port: $PG_PORT
postgres_secret_database: "$DB_NAME"
postgres_secret_user: "$DB_ROLE"
postgres_secret_password: "$password"
postgres_secret_sslmode: verify-full
postgres_secret_ca_file: "$PG_DIR/ca/ca.crt"
EOF
  )
  mv -f "$VARS_FILE.tmp" "$VARS_FILE"
  chmod 0600 "$VARS_FILE"
}

cmd_up() {
  ensure_packages
  mkdir -p "$PG_DIR"
  chmod 0755 "$PG_DIR"
  make_tls
  init_cluster
  write_config
  start_server
  # pick up pg_hba/conf edits on an already running server
  psql_admin -c 'SELECT pg_reload_conf()' >/dev/null
  ensure_role_and_db
  ensure_admin_role
  write_vars
  log "ready: hostssl $PG_HOST:$PG_PORT db=$DB_NAME user=$DB_ROLE; vars: $VARS_FILE"
}

cmd_down() {
  if [[ -s $PG_DIR/data/postmaster.pid ]] && running; then
    as_pg "$PG_BIN/pg_ctl" stop -w -t "$TIMEOUT" -m fast -D "$PG_NS_ROOT/data" >/dev/null
    log "stopped"
  else
    log "not running"
  fi
  if running; then
    die "still running after pg_ctl stop"
  fi
}

cmd_restart() {
  if ! running; then
    cmd_up
    return
  fi
  as_pg "$PG_BIN/pg_ctl" restart -w -t "$TIMEOUT" -m fast -D "$PG_NS_ROOT/data" \
    -l "$PG_NS_ROOT/log/postgres.log" >/dev/null
  wait_ready
  log "restarted (pid $(head -n 1 "$PG_DIR/data/postmaster.pid"))"
}

cmd_sql() {
  [[ -n ${1:-} ]] || die "usage: $0 sql SQL [DATABASE]"
  running || die "not running"
  as_pg "$PG_BIN/psql" -X -q -At -F '|' -v ON_ERROR_STOP=1 -h "$PG_NS_ROOT/run" -p "$PG_PORT" \
    -d "${2:-$DB_NAME}" -c "$1"
}

cmd_status() {
  if running && as_pg "$PG_BIN/pg_isready" -q -h "$PG_NS_ROOT/run" -p "$PG_PORT"; then
    echo "postgres: running pid $(head -n 1 "$PG_DIR/data/postmaster.pid") on $PG_HOST:$PG_PORT (TLS)"
    return 0
  fi
  echo "postgres: stopped"
  return 3
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  restart) cmd_restart ;;
  status) cmd_status ;;
  vars) echo "$VARS_FILE" ;;
  admin-vars) echo "$ADMIN_VARS_FILE" ;;
  sql) cmd_sql "${2:-}" "${3:-}" ;;
  *) die "usage: $0 up|down|restart|status|vars|admin-vars|sql SQL [DATABASE]" ;;
esac
