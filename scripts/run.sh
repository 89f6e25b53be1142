#!/usr/bin/env bash
# `make run`: the embedded default. One job worker process (SQLite-backed queue in instance/)
# beside the development server; both stop together.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-5000}
export APP_ENV=development
$BIN/flask jobs worker --workers 2 >instance/jobs-worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM
echo "Job worker running (log: instance/jobs-worker.log)"
echo "Serving on http://127.0.0.1:$PORT  (Ctrl+C stops)"
$BIN/flask run --host 127.0.0.1 --port "$PORT"
