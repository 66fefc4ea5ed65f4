#!/usr/bin/env bash
# `make run` with MONGODB_URI set: command service, query service and projector as separate
# processes on a real replica set, behind the gateway on 127.0.0.1:8080 (as the Ingress would be).
# Ctrl-C stops all four. Needs JWT_SECRET and CONSISTENCY_SECRET (>= 32 characters each), shared
# by the processes.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MONGODB_URI:?set MONGODB_URI to a replica set, e.g. mongodb://localhost:27017/?replicaSet=rs0}"
: "${JWT_SECRET:?set JWT_SECRET (at least 32 characters) so all processes sign and verify alike}"
: "${CONSISTENCY_SECRET:?set CONSISTENCY_SECRET (at least 32 characters): the command service MACs consistency tokens with it, the query service checks them}"
PY=${PYTHON:-.venv/bin/python}

pids=()
stop() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

for module in command_service query_service query_service.projector gateway; do
  "$PY" -m "$module" &
  pids+=($!)
done
echo "microblog: command :${COMMAND_PORT:-8081}, query :${QUERY_PORT:-8082}, projector :${PROJECTOR_PORT:-8083}, gateway http://127.0.0.1:${GATEWAY_PORT:-8080}"
# Stop everything as soon as any one process exits.
wait -n "${pids[@]}"
