#!/usr/bin/env bash
# Start a gateway (embedded store, production Argon2 cost) on a free 127.0.0.1 port from SOURCE
# (default: this checkout), run benchmarks/flood.py against it, stop it.
#   benchmarks/run.sh [SOURCE_DIR] [flood.py options...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOURCE=${1:-$ROOT}
shift || true
PYTHON=$ROOT/.venv/bin/python
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=$(mktemp)
(cd "$SOURCE" && env -u MONGODB_URI PYTHONPATH="$SOURCE" BIND_HOST=127.0.0.1 GATEWAY_PORT="$PORT" \
  LOG_LEVEL=WARNING "$PYTHON" -m gateway >"$LOG" 2>&1) &
PID=$!
trap 'kill $(pgrep -P $PID) $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "$PYTHON" -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
    "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  sleep 0.2
done
GATEWAY_PID=$(pgrep -P $PID -f "gateway" || echo $PID)
"$PYTHON" "$ROOT/benchmarks/flood.py" --base-url "http://127.0.0.1:$PORT" --pid "$GATEWAY_PID" "$@"
