#!/usr/bin/env bash
# Make sure a local PostgreSQL serves the mpp-hub database; idempotent, safe to re-run.
#
#   deploy/postgres/ensure-postgres.sh            # port 5432
#   MPP_PG_PORT=5433 deploy/postgres/ensure-postgres.sh
#
# Debian/Ubuntu, run as root (re-executes itself with `sudo -n` otherwise). Steps:
# install the `postgresql` package if no server binary exists; use the cluster on
# $MPP_PG_PORT (create one if none: "<ver> main", or "<ver> mpphub" when "main" is on
# another port -- existing clusters are never re-configured); start it; create/refresh
# role mpphub (LOGIN CREATEDB, password mpphub) and database mpphub owned by it (UTF8);
# check a password login over TCP. Progress goes to stderr; stdout gets exactly one
# line, the SQLAlchemy URL:
#   postgresql+asyncpg://mpphub:mpphub@127.0.0.1:5432/mpphub
set -euo pipefail

PORT="${MPP_PG_PORT:-5432}"
DB_USER=mpphub
DB_PASSWORD=mpphub
DB_NAME=mpphub

log() { echo "ensure-postgres: $*" >&2; }
die() { echo "ensure-postgres: error: $*" >&2; exit 1; }

[[ "$PORT" =~ ^[0-9]+$ ]] || die "MPP_PG_PORT must be a number, got '$PORT'"

if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        log "not root; re-running with sudo -n"
        exec sudo -n MPP_PG_PORT="$PORT" "$0" "$@"
    fi
    die "must run as root (or with passwordless sudo)"
fi

export DEBIAN_FRONTEND=noninteractive
export PAGER=cat PSQL_PAGER=cat
cd /tmp   # psql as postgres must not start in an unreadable cwd (e.g. /root)

# ---------------------------------------------------------------- install
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    log "PostgreSQL server not found; installing package postgresql"
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
fi
command -v pg_lsclusters >/dev/null || die "pg_lsclusters missing (package postgresql-common)"

NEWEST_VER="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
[[ -x "/usr/lib/postgresql/$NEWEST_VER/bin/postgres" ]] || die "no server binary in /usr/lib/postgresql/$NEWEST_VER"

# ---------------------------------------------------------------- cluster
# pg_lsclusters -h: "<ver> <cluster> <port> <status> <owner> <datadir> <logfile>"
cluster_line() { pg_lsclusters -h | awk -v p="$PORT" '$3 == p { print; exit }'; }

LINE="$(cluster_line)"
if [[ -z "$LINE" ]]; then
    NAME=main
    if pg_lsclusters -h | awk -v v="$NEWEST_VER" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
        NAME=mpphub   # "main" exists on another port: leave it alone
    fi
    log "no cluster on port $PORT; creating cluster $NEWEST_VER/$NAME"
    pg_createcluster --port="$PORT" --locale=C.UTF-8 --encoding=UTF8 "$NEWEST_VER" "$NAME" >&2
    LINE="$(cluster_line)"
    [[ -n "$LINE" ]] || die "pg_createcluster did not produce a cluster on port $PORT"
fi
read -r VER NAME _ STATUS _ DATADIR _ <<<"$LINE"

if [[ "$STATUS" != online* ]]; then
    # A postmaster.pid left by an unclean stop can name a PID now used by another
    # process (common in containers) and would block the start: drop it.
    if [[ -f "$DATADIR/postmaster.pid" ]]; then
        OLD_PID="$(head -n1 "$DATADIR/postmaster.pid" || true)"
        if [[ ! "$OLD_PID" =~ ^[0-9]+$ ]] || ! grep -qs postgres "/proc/$OLD_PID/comm"; then
            log "removing stale $DATADIR/postmaster.pid"
            rm -f "$DATADIR/postmaster.pid"
        fi
    fi
    log "starting cluster $VER/$NAME on port $PORT"
    pg_ctlcluster "$VER" "$NAME" start >&2 || {
        tail -n 20 "/var/log/postgresql/postgresql-$VER-$NAME.log" >&2 2>/dev/null || true
        die "could not start cluster $VER/$NAME"
    }
else
    log "cluster $VER/$NAME already running on port $PORT"
fi

for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" \
    || die "cluster $VER/$NAME does not accept TCP connections on 127.0.0.1:$PORT (check listen_addresses)"

# ---------------------------------------------------------------- role + database
as_postgres() {
    if command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
    fi
}

as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -p "$PORT" -d postgres \
    -v user="$DB_USER" -v pw="$DB_PASSWORD" -v db="$DB_NAME" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'pw')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
-- refresh every run so the printed URL always works
SELECT format('ALTER ROLE %I WITH LOGIN CREATEDB PASSWORD %L', :'user', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L LOCALE %L TEMPLATE template0',
              :'db', :'user', 'UTF8', 'C.UTF-8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'user')
 WHERE (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db') <> :'user' \gexec
SQL

# ---------------------------------------------------------------- verify
PGPASSWORD="$DB_PASSWORD" psql -X -q -At -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d "$DB_NAME" -c 'SELECT 1' >/dev/null \
    || die "password login as $DB_USER to 127.0.0.1:$PORT/$DB_NAME failed (check pg_hba.conf)"
log "ok: cluster $VER/$NAME, database $DB_NAME owned by $DB_USER on 127.0.0.1:$PORT"

echo "postgresql+asyncpg://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME"
