#!/usr/bin/env bash
# Run the Postman collection (postman/microblog.postman_collection.json) with newman.
#
#   scripts/postman.sh [newman run options...]     e.g. --verbose, --bail, --reporters cli,junit
#
# By default it starts a fresh gateway on the embedded in-memory store (.venv from `make install`)
# on 127.0.0.1:$PORT (a free port unless PORT is set), runs the collection against it and stops it.
# With BASE_URL set it starts nothing and runs against that stack instead (e.g. a Minikube Ingress):
#   BASE_URL=http://microblog.local scripts/postman.sh
#
# newman is pinned by postman/package.json + package-lock.json and installed with `npm ci` into
# .tools/newman (reinstalled only when the lock file changes). Needs node and npm (newman 6: node
# >= 16). Exits with newman's status.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

COLLECTION=postman/microblog.postman_collection.json
NEWMAN_DIR=.tools/newman
NEWMAN=$NEWMAN_DIR/node_modules/.bin/newman
PYTHON=.venv/bin/python
HEALTH_TIMEOUT_S=${HEALTH_TIMEOUT_S:-60}

say() { echo "postman: $*" >&2; }
die() { say "ERROR: $*"; exit 2; }

install_newman() {
  command -v npm >/dev/null || die "npm is not on PATH: install Node.js (>= 16) and npm"
  if [ -x "$NEWMAN" ] && cmp -s postman/package-lock.json "$NEWMAN_DIR/package-lock.json"; then
    return
  fi
  say "installing newman (postman/package-lock.json) into $NEWMAN_DIR"
  rm -rf "$NEWMAN_DIR"
  mkdir -p "$NEWMAN_DIR"
  cp postman/package.json postman/package-lock.json "$NEWMAN_DIR/"
  if ! npm ci --prefix "$NEWMAN_DIR" --no-audit --no-fund --loglevel=error; then
    rm -f "$NEWMAN_DIR/package-lock.json" # so the next run tries again
    die "npm ci of newman failed"
  fi
}

install_newman
say "newman $("$NEWMAN" --version)"

GATEWAY_PID=
LOG=
# shellcheck disable=SC2317 # (called by the EXIT trap)
cleanup() {
  local status=$?
  if [ -n "$GATEWAY_PID" ] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
    kill -TERM "$GATEWAY_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do # up to 10 s for a graceful stop
      kill -0 "$GATEWAY_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
  if [ -n "$LOG" ]; then
    if [ "$status" -ne 0 ]; then
      say "gateway log (last 80 lines of $LOG):"
      tail -n 80 "$LOG" >&2 || true
    else
      rm -f "$LOG"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${BASE_URL:-}" ]; then
  BASE_URL=${BASE_URL%/}
  say "running against $BASE_URL (no gateway started)"
else
  [ -x "$PYTHON" ] || die "$PYTHON is missing: run 'make install' first (or set BASE_URL)"
  # Bind port 0 for a free port; with PORT given, check it is free (or /healthz could be answered
  # by another process while ours fails to bind).
  PORT=$("$PYTHON" -c '
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError as error:
    sys.exit(f"postman: ERROR: cannot use port {sys.argv[1]}: {error}")
print(s.getsockname()[1])' "${PORT:-0}") || exit 2
  BASE_URL=http://127.0.0.1:$PORT
  LOG=$(mktemp "${TMPDIR:-/tmp}/microblog-gateway.XXXXXX.log")
  say "starting the gateway (embedded store) on $BASE_URL, log: $LOG"
  # env -u: always the embedded store, whatever the caller's environment points at.
  env -u MONGODB_URI -u JWT_SECRET BIND_HOST=127.0.0.1 GATEWAY_PORT="$PORT" \
    "$PYTHON" -m gateway >"$LOG" 2>&1 &
  GATEWAY_PID=$!

  deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  until "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$BASE_URL/healthz" 2>/dev/null; do
    kill -0 "$GATEWAY_PID" 2>/dev/null || { say "ERROR: the gateway exited during start-up"; exit 2; }
    [ "$SECONDS" -lt "$deadline" ] || { say "ERROR: no 200 from $BASE_URL/healthz within ${HEALTH_TIMEOUT_S}s"; exit 2; }
    sleep 0.2
  done
  say "gateway is up"
fi

# Plain output when not on a terminal (CI logs); FORCE_COLOR=0 also keeps escape codes out of the
# failure table, which newman's --color off alone does not.
color=auto newman_env=()
if [ ! -t 1 ]; then color=off newman_env=("FORCE_COLOR=${FORCE_COLOR:-0}"); fi
status=0
env "${newman_env[@]}" "$NEWMAN" run "$COLLECTION" \
  --env-var "baseUrl=$BASE_URL" \
  --reporters cli \
  --color "$color" \
  --timeout-request 15000 \
  --timeout 600000 \
  "$@" || status=$?
[ "$status" -eq 0 ] || say "newman failed with status $status"
exit "$status"
