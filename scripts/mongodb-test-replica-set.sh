#!/usr/bin/env bash
# A throwaway single-node MongoDB 8 replica set for the real-server tests, with Docker or Podman.
#
#   scripts/mongodb-test-replica-set.sh [start|stop]
#
# `start` (the default) starts it (or reuses the running one) on 127.0.0.1:$MONGODB_TEST_PORT
# (27017), initiates the replica set, waits for a writable primary and prints the URI for
# TEST_MONGODB_URI. `stop` removes the container and its data.
set -euo pipefail

IMAGE=${MONGODB_TEST_IMAGE:-mongo:8.0}
NAME=microblog-test-mongodb
PORT=${MONGODB_TEST_PORT:-27017}

engine=$(command -v docker || command -v podman || true)
if [ -z "$engine" ]; then
  echo "mongodb-test-replica-set: needs docker or podman on PATH" >&2
  exit 2
fi

case "${1:-start}" in
  start) ;;
  stop)
    "$engine" rm -f "$NAME" >/dev/null
    exit 0
    ;;
  *)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac

if ! "$engine" container inspect "$NAME" >/dev/null 2>&1; then
  "$engine" run -d --name "$NAME" -p "127.0.0.1:$PORT:27017" "$IMAGE" \
    --replSet rs0 --bind_ip_all >/dev/null
fi

shell() { "$engine" exec "$NAME" mongosh --quiet --eval "$1"; }
wait_for() {
  local what=$1 expected=$2
  for _ in $(seq 90); do
    if [ "$(shell "$what" 2>/dev/null || true)" = "$expected" ]; then return 0; fi
    sleep 1
  done
  echo "mongodb-test-replica-set: timed out waiting for $what" >&2
  "$engine" logs --tail 30 "$NAME" >&2 || true
  exit 1
}

wait_for 'db.adminCommand({ping: 1}).ok' 1
# Initiating twice is an error; an initiated set answers rs.status().
shell 'try { rs.status().ok } catch (e) {
  rs.initiate({_id: "rs0", members: [{_id: 0, host: "127.0.0.1:27017"}]}).ok }' >/dev/null
wait_for 'db.hello().isWritablePrimary' true
# directConnection: the member's host name is the container's view of itself.
echo "mongodb://127.0.0.1:$PORT/?replicaSet=rs0&directConnection=true"
