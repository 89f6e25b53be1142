#!/usr/bin/env bash
# Type-check with mypy, start a throwaway PostgreSQL cluster, a moto S3 server and a Redis job
# broker on 127.0.0.1, run the whole suite on SQLite (with a branch coverage gate) and on
# PostgreSQL, and stop them afterwards, also when tests fail.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
echo "=== mypy ==="
$BIN/mypy portfolio || exit 1
PG_PORT=${PG_PORT:-25432}
MOTO_PORT=${MOTO_PORT:-25900}
REDIS_PORT=${REDIS_PORT:-$((MOTO_PORT + 1))}
WORK=$(mktemp -d /tmp/portfolio-test.XXXXXX)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
MOTO_PID=""
REDIS_PID=""
#: Branch coverage of a whole SQLite run may not fall below this (the figure when the gate was
#: added, rounded down; raise it when coverage grows). Runs of chosen tests are not gated.
COVERAGE_MIN=${COVERAGE_MIN:-89}
[ "$#" -eq 0 ] || COVERAGE_MIN=0

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
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

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  --dir "$WORK" >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
echo "Redis job broker on 127.0.0.1:$REDIS_PORT"

export TEST_S3_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
export PORTFOLIO_SCREENSHOTS="${PORTFOLIO_SCREENSHOTS:-$PWD/test-artifacts/screenshots}"
WORKERS=${PYTEST_WORKERS:-2}

echo "=== Import layers (lint-imports) ==="
$BIN/lint-imports || exit 1

status=0
echo "=== Test suite on SQLite (with branch coverage) ==="
TEST_DATABASE=sqlite $BIN/pytest -n "$WORKERS" -p no:cacheprovider \
  --cov=portfolio --cov-branch --cov-report=term:skip-covered --cov-fail-under="$COVERAGE_MIN" \
  "$@" || status=1
echo "=== Test suite on PostgreSQL ==="
TEST_DATABASE=postgresql $BIN/pytest -n "$WORKERS" -p no:cacheprovider "$@" || status=1
echo "Screenshots: $PORTFOLIO_SCREENSHOTS"
exit $status
