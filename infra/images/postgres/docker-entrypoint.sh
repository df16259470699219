#!/bin/bash
# First start: initdb with POSTGRES_USER/POSTGRES_PASSWORD, POSTGRES_DB, then /docker-entrypoint-initdb.d/*
# (.sql and .sh) against a server listening on its Unix socket only; every start: the server on all interfaces.
set -euo pipefail

user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 > /dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait --silent start
    if [ "$db" != postgres ]; then
        psql --username="$user" --dbname=postgres --set=ON_ERROR_STOP=1 --quiet \
            --command="CREATE DATABASE \"$db\""
    fi
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sql) echo "running $script"
                   psql --username="$user" --dbname="$db" --set=ON_ERROR_STOP=1 --quiet --file="$script" ;;
            *.sh) echo "running $script"
                  # shellcheck disable=SC1090
                  . "$script" ;;
        esac
    done
    pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
    echo "database initialised"
fi

if [ "${1:-}" = postgres ]; then
    shift
    exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
