#!/usr/bin/env bash
# Remove microblog from Minikube.
#
#   scripts/minikube-down.sh            uninstall the release (data volume kept)
#   scripts/minikube-down.sh --purge    also delete the MongoDB volume and the namespace
#   scripts/minikube-down.sh --delete   delete the whole Minikube profile
#
# Environment: MINIKUBE_PROFILE (minikube), NAMESPACE (microblog), RELEASE (microblog).
set -euo pipefail

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

# The user's own helm and kubectl (or `minikube kubectl --`), as in minikube-up.sh.
command -v helm >/dev/null || {
  say "helm is not installed: see https://helm.sh/docs/intro/install/"
  exit 1
}
if command -v kubectl >/dev/null; then
  KUBECTL=(kubectl --context "$PROFILE")
else
  KUBECTL=(minikube -p "$PROFILE" kubectl -- --context "$PROFILE")
fi

if helm status "$RELEASE" -n "$NAMESPACE" --kube-context "$PROFILE" >/dev/null 2>&1; then
  say "uninstalling release '$RELEASE' from namespace '$NAMESPACE'"
  helm uninstall "$RELEASE" -n "$NAMESPACE" --kube-context "$PROFILE" --wait
else
  say "release '$RELEASE' is not installed in namespace '$NAMESPACE'"
fi

if [ "$MODE" = --purge ]; then
  # StatefulSet volumes outlive the release on purpose; a purge removes them
  # (and with them the data and the MongoDB users).
  say "deleting the MongoDB volumes and namespace '$NAMESPACE'"
  "${KUBECTL[@]}" -n "$NAMESPACE" delete pvc -l "app.kubernetes.io/instance=$RELEASE" --ignore-not-found
  "${KUBECTL[@]}" delete namespace "$NAMESPACE" --ignore-not-found
else
  say "the MongoDB volume and its credentials Secret are kept (a reinstall reuses both); --purge deletes them"
fi
