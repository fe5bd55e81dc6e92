#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis servers named by DATABASE_URL and
# REDIS_URL answer, starting them where we can:
#
#   1. already reachable                 -> nothing to do
#   2. local host and local binaries     -> start the local server
#      (Debian pg_ctlcluster / pg_ctl with $PGDATA, redis-server)
#   3. local host and Docker available   -> docker compose up -d postgres redis
#   4. otherwise                         -> say exactly what to start, exit 1
#
# then wait (SERVICES_WAIT_SECONDS, default 30) until both answer.
# It never creates databases or runs migrations: see scripts/create_db.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DATABASE_URL="${DATABASE_URL:-postgresql+psycopg://postgres:postgres@localhost:5432/movie_booking}"
REDIS_URL="${REDIS_URL:-redis://localhost:6379/0}"
WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-30}"

say() { printf 'ensure-services: %s\n' "$*" >&2; }
quoted() { local q; printf -v q '%q ' "$@"; printf '%s' "${q% }"; }
have() { command -v "$1" >/dev/null 2>&1; }

# Only the standard library is needed here, so any python3 does; prefer the
# project's virtualenv when it exists.
PY=python3
[[ -x "$ROOT/.venv/bin/python" ]] && PY="$ROOT/.venv/bin/python"

# --- Parse the URLs (in Python: it knows URL quoting, IPv6 and query strings) ---
# Prints shell assignments; an empty PG_HOST means libpq's default Unix socket.
url_vars="$(DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" "$PY" - <<'PY'
import os
import shlex
import sys
from urllib.parse import parse_qs, unquote, urlsplit

out = {}
db = urlsplit(os.environ["DATABASE_URL"])
if db.scheme.split("+")[0] not in ("postgres", "postgresql"):
    sys.exit(f"ensure-services: DATABASE_URL must be a postgresql:// URL, got scheme {db.scheme!r}")
query = parse_qs(db.query)
try:
    pg_port = db.port or int(query.get("port", ["5432"])[0])
except ValueError:
    sys.exit("ensure-services: DATABASE_URL has an invalid port")
out["PG_HOST"] = db.hostname or query.get("host", [""])[0]
out["PG_PORT"] = str(pg_port)
out["PG_USER"] = unquote(db.username or "") or query.get("user", ["postgres"])[0]
out["PG_DB"] = unquote(db.path.lstrip("/")) or query.get("dbname", [out["PG_USER"]])[0]

rd = urlsplit(os.environ["REDIS_URL"])
if rd.scheme not in ("redis", "rediss", "unix"):
    sys.exit(f"ensure-services: REDIS_URL must be a redis://, rediss:// or unix:// URL, got {rd.scheme!r}")
out["REDIS_SCHEME"] = rd.scheme
out["REDIS_SOCKET"] = rd.path if rd.scheme == "unix" else ""
out["REDIS_HOST"] = "" if rd.scheme == "unix" else (rd.hostname or "localhost")
try:
    out["REDIS_PORT"] = str(rd.port or 6379)
except ValueError:
    sys.exit("ensure-services: REDIS_URL has an invalid port")

for name, value in out.items():
    print(f"{name}={shlex.quote(value)}")
PY
)" || exit 1
eval "$url_vars"

is_local() {  # host (empty = Unix socket) on this machine?
    case "$1" in
        "" | /* | localhost | 127.0.0.1 | ::1 | 0.0.0.0) return 0 ;;
        *) return 1 ;;
    esac
}

if [[ -z "$PG_HOST" ]]; then PG_WHERE="the local Unix socket (port $PG_PORT)"
elif [[ "$PG_HOST" == /* ]]; then PG_WHERE="socket dir $PG_HOST (port $PG_PORT)"
else PG_WHERE="$PG_HOST:$PG_PORT"; fi
if [[ "$REDIS_SCHEME" == unix ]]; then REDIS_WHERE="socket $REDIS_SOCKET"
else REDIS_WHERE="$REDIS_HOST:$REDIS_PORT"; fi

# A raw TCP connect, for machines without pg_isready / redis-cli.
tcp_open() {
    "$PY" - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

# --- Probes -------------------------------------------------------------------
# pg_state prints: up | starting (server runs but refuses connections yet) | down
pg_state() {
    if have pg_isready; then
        local args=(-q -t 2 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB") rc=0
        [[ -n "$PG_HOST" ]] && args+=(-h "$PG_HOST")
        pg_isready "${args[@]}" >/dev/null 2>&1 || rc=$?
        case $rc in 0) echo up ;; 1) echo starting ;; *) echo down ;; esac
    elif [[ -n "$PG_HOST" && "$PG_HOST" != /* ]]; then
        if tcp_open "$PG_HOST" "$PG_PORT"; then echo up; else echo down; fi
    else
        # Unix socket and no pg_isready: the socket file is the best hint we have.
        if [[ -S "${PG_HOST:-/var/run/postgresql}/.s.PGSQL.$PG_PORT" ]]; then echo up; else echo down; fi
    fi
}

# redis_state prints: up | starting (e.g. LOADING) | down | error:<reply>
redis_state() {
    local reply=""
    if have redis-cli; then
        if [[ "$REDIS_SCHEME" == unix ]]; then
            reply="$(redis-cli -s "$REDIS_SOCKET" ping 2>&1 || true)"
        else
            # -u understands passwords, database numbers and rediss:// (TLS).
            reply="$(redis-cli -u "$REDIS_URL" --no-auth-warning ping 2>&1 || true)"
        fi
        case "$reply" in
            PONG) echo up ;;
            LOADING* | *"loading the dataset"*) echo starting ;;
            *"Connection refused"* | *"No such file"* | *"Could not connect"* | *"timed out"* | "") echo down ;;
            *) echo "error:${reply//$'\n'/ }" ;;
        esac
    elif [[ "$REDIS_SCHEME" == unix ]]; then
        if [[ -S "$REDIS_SOCKET" ]]; then echo up; else echo down; fi
    else
        if tcp_open "$REDIS_HOST" "$REDIS_PORT"; then echo up; else echo down; fi
    fi
}

as_root() {  # run a command as root: directly, or through password-less sudo
    if [[ $EUID -eq 0 ]]; then "$@"
    elif have sudo && sudo -n true 2>/dev/null; then sudo -n "$@"
    else return 1; fi
}

# --- Starting local servers -------------------------------------------------------
PG_HINTS=()     # what to tell the user if we cannot start PostgreSQL ourselves
REDIS_HINTS=()

start_local_postgres() {
    if have pg_lsclusters && have pg_ctlcluster; then
        # Debian/Ubuntu: find the cluster configured on our port.
        local ver name port status owner found=""
        while read -r ver name port status owner _; do
            [[ "$port" == "$PG_PORT" ]] && { found="$ver $name $status $owner"; break; }
        done < <(pg_lsclusters -h 2>/dev/null || true)
        if [[ -z "$found" ]]; then
            if [[ -z "$(pg_lsclusters -h 2>/dev/null || true)" ]]; then
                say "PostgreSQL is installed but no cluster exists at all."
                # shellcheck disable=SC2012  # version directory names are plain numbers
                PG_HINTS+=("create and start one (as root): pg_createcluster --start $(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1) main")
            else
                say "no local PostgreSQL cluster listens on port $PG_PORT; existing clusters:"
                pg_lsclusters >&2 || true
                PG_HINTS+=("start a cluster on port $PG_PORT, or set DATABASE_URL to the port of an existing one")
            fi
            return 1
        fi
        read -r ver name status owner <<<"$found"
        local cmd=(pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start)
        say "starting PostgreSQL cluster $ver/$name (port $PG_PORT): $(quoted "${cmd[@]}")"
        if [[ "$(id -un)" == "$owner" ]]; then "${cmd[@]}" && return 0
        elif as_root "${cmd[@]}"; then return 0
        fi
        PG_HINTS+=("sudo ${cmd[*]}")
        return 1
    fi
    if have pg_ctl && [[ -n "${PGDATA:-}" && -f "${PGDATA}/PG_VERSION" ]]; then
        say "starting PostgreSQL from PGDATA=$PGDATA on port $PG_PORT"
        pg_ctl -D "$PGDATA" -l "$PGDATA/server.log" -o "-p $PG_PORT" -w start && return 0
        PG_HINTS+=("pg_ctl -D \"$PGDATA\" start   (see $PGDATA/server.log)")
        return 1
    fi
    if have brew; then
        PG_HINTS+=("brew services start postgresql@16")
    elif have postgres || have pg_ctl; then
        PG_HINTS+=("pg_ctl -D <your data directory> start   (or set PGDATA and re-run)")
    fi
    return 1
}

start_local_redis() {
    if ! have redis-server; then
        have brew && REDIS_HINTS+=("brew services start redis")
        return 1
    fi
    mkdir -p "$ROOT/var"
    # Nothing is kept on disk (--save "", no AOF): Redis holds locks, queues
    # and caches here, and PostgreSQL is the source of truth.
    local tag="$REDIS_PORT"
    [[ "$REDIS_SCHEME" == unix ]] && tag=socket
    local args=(--daemonize yes --save "" --appendonly no --dir "$ROOT/var"
        --logfile "$ROOT/var/redis-$tag.log" --pidfile "$ROOT/var/redis-$tag.pid")
    if [[ "$REDIS_SCHEME" == unix ]]; then
        args+=(--port 0 --unixsocket "$REDIS_SOCKET")
    elif [[ "$REDIS_SCHEME" == rediss ]]; then
        say "REDIS_URL asks for TLS (rediss://); not starting a plain local Redis for it."
        return 1
    else
        local bind=127.0.0.1
        [[ "$REDIS_HOST" == "::1" ]] && bind="::1"
        args+=(--bind "$bind" --port "$REDIS_PORT")
    fi
    say "starting Redis: redis-server $(quoted "${args[@]}")"
    if redis-server "${args[@]}"; then return 0; fi
    REDIS_HINTS+=("redis-server --daemonize yes --bind 127.0.0.1 --port $REDIS_PORT --save \"\"   (see $ROOT/var/redis-$tag.log)")
    return 1
}

COMPOSE=()
find_compose() {
    [[ ${#COMPOSE[@]} -gt 0 ]] && return 0
    have docker || return 1
    if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
    elif have docker-compose; then COMPOSE=(docker-compose)
    else return 1; fi
    # The client alone is not enough: the engine must answer too.
    docker info >/dev/null 2>&1 || { COMPOSE=(); return 1; }
}

start_with_compose() {  # $@: compose services to start
    find_compose || return 1
    [[ -f "$ROOT/docker-compose.yml" ]] || return 1
    # docker-compose.yml keeps the database ports private; the override
    # publishes them on 127.0.0.1 at the ports our URLs name.
    # SECRET_KEY is required by the app services of the compose file, and
    # Compose checks it even when only postgres/redis are started.
    local cmd=("${COMPOSE[@]}" -f docker-compose.yml -f scripts/docker-compose.ports.yml up -d "$@")
    say "starting $* with Docker: $(quoted "${cmd[@]}")"
    MARQUEE_PG_PORT="$PG_PORT" MARQUEE_REDIS_PORT="$REDIS_PORT" \
        SECRET_KEY="${SECRET_KEY:-not-used-by-postgres-or-redis}" "${cmd[@]}"
}

# --- Main -------------------------------------------------------------------------
pg="$(pg_state)"
redis="$(redis_state)"

if [[ "$redis" == error:* ]]; then
    say "Redis at $REDIS_WHERE answers but not as expected: ${redis#error:}"
    say "check the password/user in REDIS_URL (or that nothing else listens on that port)."
    exit 1
fi

need_compose=()
if [[ "$pg" == down ]]; then
    if is_local "$PG_HOST"; then
        say "PostgreSQL is not reachable at $PG_WHERE."
        start_local_postgres || need_compose+=(postgres)
    else
        PG_HINTS+=("make sure the server at $PG_WHERE is running and reachable from here")
        need_compose+=(remote-postgres)
    fi
fi
if [[ "$redis" == down ]]; then
    if [[ "$REDIS_SCHEME" == unix ]] || is_local "$REDIS_HOST"; then
        say "Redis is not reachable at $REDIS_WHERE."
        start_local_redis || need_compose+=(redis)
    else
        REDIS_HINTS+=("make sure the server at $REDIS_WHERE is running and reachable from here")
        need_compose+=(remote-redis)
    fi
fi

# Docker only helps for local TCP addresses (it publishes ports on 127.0.0.1).
compose_services=()
# (The ${a[@]+"${a[@]}"} form keeps bash < 4.4, e.g. macOS's 3.2, happy with
# empty arrays under set -u.)
for s in ${need_compose[@]+"${need_compose[@]}"}; do
    case "$s" in
        postgres) [[ -n "$PG_HOST" && "$PG_HOST" != /* ]] && compose_services+=(postgres) ;;
        redis) [[ "$REDIS_SCHEME" == redis ]] && compose_services+=(redis) ;;
    esac
done
if [[ ${#compose_services[@]} -gt 0 && ${#compose_services[@]} -eq ${#need_compose[@]} ]] \
    && start_with_compose ${compose_services[@]+"${compose_services[@]}"}; then
    if [[ " ${compose_services[*]} " == *" postgres "* && "$PG_USER" != postgres ]]; then
        say "note: the compose PostgreSQL has user postgres (password postgres), but DATABASE_URL uses '$PG_USER'."
    fi
    need_compose=()
fi

if [[ ${#need_compose[@]} -gt 0 ]]; then
    [[ ${#PG_HINTS[@]} -gt 0 ]] || PG_HINTS=(
        "Debian/Ubuntu: sudo apt-get install postgresql   (it starts a cluster on port 5432)"
        "macOS:         brew install postgresql@16 && brew services start postgresql@16")
    [[ ${#REDIS_HINTS[@]} -gt 0 ]] || REDIS_HINTS=(
        "Debian/Ubuntu: sudo apt-get install redis-server, or: redis-server --daemonize yes --port $REDIS_PORT"
        "macOS:         brew install redis && brew services start redis")
    say "cannot start the missing services by myself. Please start:"
    for s in "${need_compose[@]}"; do
        case "$s" in
            postgres | remote-postgres)
                printf '  * PostgreSQL at %s (from DATABASE_URL):\n' "$PG_WHERE" >&2
                for h in "${PG_HINTS[@]}"; do printf '        %s\n' "$h" >&2; done ;;
            redis | remote-redis)
                printf '  * Redis at %s (from REDIS_URL):\n' "$REDIS_WHERE" >&2
                for h in "${REDIS_HINTS[@]}"; do printf '        %s\n' "$h" >&2; done ;;
        esac
    done
    if [[ ${#compose_services[@]} -gt 0 && ${#compose_services[@]} -eq ${#need_compose[@]} ]]; then
        env_prefix=""
        [[ "$PG_PORT" == 5432 ]] || env_prefix+="MARQUEE_PG_PORT=$PG_PORT "
        [[ "$REDIS_PORT" == 6379 ]] || env_prefix+="MARQUEE_REDIS_PORT=$REDIS_PORT "
        printf '  * or, with Docker: %sdocker compose -f docker-compose.yml -f scripts/docker-compose.ports.yml up -d %s\n' \
            "$env_prefix" "${compose_services[*]}" >&2
    fi
    printf '  then run this again (or point DATABASE_URL / REDIS_URL at running servers).\n' >&2
    exit 1
fi

# --- Wait until both answer ----------------------------------------------------------
deadline=$((SECONDS + WAIT_SECONDS))
while :; do
    pg="$(pg_state)"
    redis="$(redis_state)"
    if [[ "$pg" == up && "$redis" == up ]]; then
        say "PostgreSQL ($PG_WHERE) and Redis ($REDIS_WHERE) are up."
        exit 0
    fi
    if [[ "$redis" == error:* ]]; then
        say "Redis at $REDIS_WHERE answers but not as expected: ${redis#error:}"
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        [[ "$pg" == up ]] || say "PostgreSQL at $PG_WHERE still not ready after ${WAIT_SECONDS}s (state: $pg)."
        [[ "$redis" == up ]] || say "Redis at $REDIS_WHERE still not ready after ${WAIT_SECONDS}s (state: $redis)."
        exit 1
    fi
    sleep 0.5
done
