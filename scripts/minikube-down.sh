#!/usr/bin/env bash
# Remove microblog from Minikube.
#
#   scripts/minikube-down.sh            uninstall the release (data volume kept)
#   scripts/minikube-down.sh --purge    also delete the MongoDB volume and the namespace
#   scripts/minikube-down.sh --delete   delete the whole Minikube profile
#
# Environment: MINIKUBE_PROFILE (minikube), NAMESPACE (microblog), RELEASE (microblog).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFILE=${MINIKUBE_PROFILE:-minikube}
NAMESPACE=${NAMESPACE:-microblog}
RELEASE=${RELEASE:-microblog}
MODE=${1:-}

say() { echo "minikube-down: $*" >&2; }

case $MODE in
  "" | --purge | --delete) ;;
  *)
    say "usage: $0 [--purge|--delete]"
    exit 2
    ;;
esac

if [ "$MODE" = --delete ]; then
  say "deleting Minikube profile '$PROFILE'"
  minikube delete -p "$PROFILE"
  exit 0
fi

"$ROOT/scripts/install-k8s-tools.sh" helm
export PATH="$ROOT/.tools/bin:$PATH"
kubectl config use-context "$PROFILE" >/dev/null

if helm status "$RELEASE" -n "$NAMESPACE" >/dev/null 2>&1; then
  say "uninstalling release '$RELEASE' from namespace '$NAMESPACE'"
  helm uninstall "$RELEASE" -n "$NAMESPACE" --wait
else
  say "release '$RELEASE' is not installed in namespace '$NAMESPACE'"
fi

if [ "$MODE" = --purge ]; then
  # StatefulSet volumes outlive the release on purpose; a purge removes them
  # (and with them the data and the MongoDB users).
  say "deleting the MongoDB volumes and namespace '$NAMESPACE'"
  kubectl -n "$NAMESPACE" delete pvc -l "app.kubernetes.io/instance=$RELEASE" --ignore-not-found
  kubectl delete namespace "$NAMESPACE" --ignore-not-found
else
  say "the MongoDB volume and its credentials Secret are kept (a reinstall reuses both); --purge deletes them"
fi
