#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster and a moto S3 server on 127.0.0.1, run the whole suite
# on SQLite and on PostgreSQL, and stop both afterwards, also when tests fail.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_PORT=${PG_PORT:-25432}
MOTO_PORT=${MOTO_PORT:-25900}
WORK=$(mktemp -d /tmp/portfolio-test.XXXXXX)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
MOTO_PID=""

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
  [ -f "$WORK/pg/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK" "$WORK/pg"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log"; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -w -l "$WORK/pg/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$WORK/pg/server.log"; exit 1; }
echo "PostgreSQL on 127.0.0.1:$PG_PORT"

$BIN/moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 50); do
  $BIN/python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
echo "moto S3 server on 127.0.0.1:$MOTO_PORT"

export TEST_S3_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
export PORTFOLIO_SCREENSHOTS="${PORTFOLIO_SCREENSHOTS:-$PWD/test-artifacts/screenshots}"
WORKERS=${PYTEST_WORKERS:-2}

echo "=== Import layers (lint-imports) ==="
$BIN/lint-imports || exit 1

status=0
echo "=== Test suite on SQLite ==="
TEST_DATABASE=sqlite $BIN/pytest -n "$WORKERS" -p no:cacheprovider "$@" || status=1
echo "=== Test suite on PostgreSQL ==="
TEST_DATABASE=postgresql $BIN/pytest -n "$WORKERS" -p no:cacheprovider "$@" || status=1
echo "Screenshots: $PORTFOLIO_SCREENSHOTS"
exit $status
