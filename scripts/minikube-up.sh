#!/usr/bin/env bash
# Run microblog on a local Minikube, from nothing to a passing smoke test.
#
#   scripts/minikube-up.sh
#
# 1. starts Minikube with Calico (a CNI that enforces NetworkPolicies; the
#    default one ignores them) unless the profile runs, enables the ingress
#    and metrics-server addons;
# 2. builds both images inside Minikube (`minikube image build`, no
#    registry), tagged with a hash of their sources so a rebuild with changes
#    rolls the pods;
# 3. helm upgrade --install --wait with values-minikube.yaml (bundled MongoDB);
# 4. waits for the rollouts, prints the URL and runs scripts/smoke.sh on it.
#    The URL is the node's address, except where this machine cannot reach
#    it: with the docker or podman driver on macOS or Windows the node is a
#    container inside the driver's VM, so the script starts `minikube tunnel`
#    (it asks for your password: it binds ports 80 and 443) and uses
#    http://127.0.0.1. BASE_URL overrides both (your own tunnel or port-forward).
#
# Needs: minikube (https://minikube.sigs.k8s.io/docs/start/) and its driver
# (e.g. Docker Desktop, Docker Engine or Podman), helm 3.8 or later (or 4),
# and curl. kubectl is optional: without it `minikube kubectl --` is used.
# Your own helm and kubectl are used: any OS, any CPU (macOS, arm64, ...).
#
# Settings (environment):
#   MINIKUBE_PROFILE    minikube profile              (minikube)
#   MINIKUBE_DRIVER     driver for a new cluster      (minikube's choice)
#   MINIKUBE_CNI        CNI for a new cluster         (calico)
#   MINIKUBE_CPUS       CPUs for a new cluster        (2)
#   MINIKUBE_MEMORY     memory for a new cluster, MB  (6144)
#   KUBERNETES_VERSION  Kubernetes of a new cluster   (v1.34.0)
#   NAMESPACE, RELEASE  where and as what to install  (microblog, microblog)
#   IMAGE_TAG           image tag                     (dev-<source hash>)
#   HELM_TIMEOUT        helm --wait timeout           (10m)
#   EXTRA_VALUES        another values file, applied after values-minikube.yaml
#   BASE_URL            where the Ingress answers     (the node's address, or
#                                                      http://127.0.0.1 through a tunnel)
#   SKIP_SMOKE=1        do not run scripts/smoke.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PROFILE=${MINIKUBE_PROFILE:-minikube}
NAMESPACE=${NAMESPACE:-microblog}
RELEASE=${RELEASE:-microblog}
CHART=helm/microblog

say() { echo "minikube-up: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

# 0. Tools: the user's own, never binaries built for another OS or CPU -------
command -v minikube >/dev/null ||
  die "minikube is not installed: see https://minikube.sigs.k8s.io/docs/start/ (macOS: brew install minikube)"
command -v helm >/dev/null ||
  die "helm is not installed: see https://helm.sh/docs/intro/install/ (macOS: brew install helm; Linux: your package manager or the install script there)"
helm_major=$(helm version --template '{{.Version}}' 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')
[ "${helm_major:-0}" -ge 3 ] || die "helm 3.8 or later is needed (found: $(helm version --short 2>&1 || true))"
command -v curl >/dev/null || die "curl is needed for the smoke test"
if command -v kubectl >/dev/null; then
  KUBECTL=(kubectl --context "$PROFILE")
else
  say "kubectl not found: using \`minikube kubectl --\`"
  KUBECTL=(minikube -p "$PROFILE" kubectl -- --context "$PROFILE")
fi
kubectl_() { "${KUBECTL[@]}" "$@"; }

# 1. Cluster and addons ------------------------------------------------------
if minikube -p "$PROFILE" status --format '{{.APIServer}}' 2>/dev/null | grep -q Running; then
  say "Minikube profile '$PROFILE' is running"
else
  say "starting Minikube profile '$PROFILE'"
  start=(minikube start -p "$PROFILE"
    --cni="${MINIKUBE_CNI:-calico}"
    --kubernetes-version="${KUBERNETES_VERSION:-v1.34.0}"
    --cpus="${MINIKUBE_CPUS:-2}"
    --memory="${MINIKUBE_MEMORY:-6144}")
  [ -z "${MINIKUBE_DRIVER:-}" ] || start+=(--driver="$MINIKUBE_DRIVER")
  "${start[@]}"
fi
if ! kubectl_ -n kube-system get pods -l k8s-app=calico-node -o name 2>/dev/null | grep -q .; then
  say "WARNING: no Calico in profile '$PROFILE': its NetworkPolicies are not enforced."
  say "         Recreate it with a policy-enforcing CNI: minikube delete -p $PROFILE, then run this again."
fi
# The addon's controller runs in namespace ingress-nginx with the labels the
# chart's NetworkPolicy expects; metrics-server feeds the HPAs.
minikube -p "$PROFILE" addons enable ingress
minikube -p "$PROFILE" addons enable metrics-server

# 2. Images -------------------------------------------------------------------
# Tag = hash of the build context (.dockerignore's allow-list) and the
# Dockerfile: unchanged sources keep the running pods, any change rolls them.
sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }
source_hash() {
  local allowed
  allowed=$(sed -n 's|^!\([^*]*\)$|\1|p' .dockerignore | sed 's|/$||')
  # shellcheck disable=SC2086 # one path per allowed entry
  find Dockerfile .dockerignore $allowed -type f -not -path '*/__pycache__/*' -not -name '*.pyc' |
    LC_ALL=C sort | while read -r file; do
      printf '%s\n' "$file"
      sha256 <"$file"
    done | sha256 | cut -c1-12
}
TAG=${IMAGE_TAG:-dev-$(source_hash)}

for target in command query; do
  image="microblog-$target:$TAG"
  if minikube -p "$PROFILE" image ls 2>/dev/null | grep -q "microblog-$target:$TAG\$"; then
    say "$image is already in Minikube"
    continue
  fi
  say "building $image inside Minikube"
  minikube -p "$PROFILE" image build -t "$image" --build-opt="target=$target" .
done

# 3. Install ------------------------------------------------------------------
say "installing release '$RELEASE' into namespace '$NAMESPACE' (image tag $TAG)"
helm upgrade --install "$RELEASE" "$CHART" \
  --kube-context "$PROFILE" \
  --namespace "$NAMESPACE" --create-namespace \
  -f "$CHART/values-minikube.yaml" \
  ${EXTRA_VALUES:+-f "$EXTRA_VALUES"} \
  --set image.tag="$TAG" \
  --wait --timeout "${HELM_TIMEOUT:-10m}"

# 4. Rollouts, URL, smoke test ------------------------------------------------
selector="app.kubernetes.io/instance=$RELEASE"
kubectl_ -n "$NAMESPACE" rollout status statefulset -l "$selector" --timeout=5m
kubectl_ -n "$NAMESPACE" rollout status deployment -l "$selector" --timeout=5m

# The application answers an unknown user with a JSON 404; nginx's own
# 404/503 pages are HTML. Route up = a JSON answer.
routed() {
  local type
  type=$(curl -s -o /dev/null --connect-timeout 3 -m 5 -w '%{content_type}' "$1/query/v1/users/route_probe" || true)
  [[ $type == *json* ]]
}

# The driver of the profile, from minikube's own record of it.
profile_driver() {
  local config=${MINIKUBE_HOME:-$HOME/.minikube}/profiles/$PROFILE/config.json
  [ -f "$config" ] || return 0
  sed -n 's/^ *"Driver": *"\([^"]*\)".*/\1/p' "$config" | head -n 1
}

# Docker and Podman run the node as a container. On Linux its address is on a
# bridge of this machine; on macOS and Windows it is inside the engine's VM,
# which this machine cannot route to (only to ports published on 127.0.0.1).
node_unreachable() {
  local os driver
  os=$(uname -s)
  driver=$(profile_driver)
  case $os in
    Darwin | MINGW* | MSYS* | CYGWIN*) ;;
    *) return 1 ;;
  esac
  [ "$driver" = docker ] || [ "$driver" = podman ]
}

TUNNEL_PID=
if [ -n "${BASE_URL:-}" ]; then
  URL=${BASE_URL%/}
elif node_unreachable; then
  URL=http://127.0.0.1
  if routed "$URL"; then
    say "$URL already routes to the Ingress (a tunnel is running)"
  else
    TUNNEL_LOG=${TMPDIR:-/tmp}/microblog-minikube-tunnel-$PROFILE.log
    say "the $(profile_driver) driver on $(uname -s): the node's address is not reachable from here;"
    say "starting \`minikube tunnel\` for $URL (log: $TUNNEL_LOG). It may ask for your password (ports 80 and 443)."
    minikube -p "$PROFILE" tunnel >"$TUNNEL_LOG" 2>&1 &
    TUNNEL_PID=$!
    disown "$TUNNEL_PID" 2>/dev/null || true
  fi
else
  URL="http://$(minikube -p "$PROFILE" ip)"
fi

say "waiting for the Ingress to route $URL/query/..."
for attempt in $(seq 1 60); do
  routed "$URL" && break
  if [ "$attempt" -ge 60 ]; then
    if [ -n "$TUNNEL_PID" ]; then
      die "no answer through the tunnel at $URL: see $TUNNEL_LOG (did it get your password?)"
    fi
    die "no answer from the application through $URL (a tunnel or port-forward of your own: BASE_URL=http://127.0.0.1 $0)"
  fi
  sleep 2
done

echo
echo "microblog is up: $URL"
echo "  commands: $URL/command/v1/...   queries: $URL/query/v1/..."
echo "  helm test $RELEASE -n $NAMESPACE --kube-context $PROFILE   # in-cluster check"
echo "  scripts/minikube-down.sh              # remove it again"
if [ -n "$TUNNEL_PID" ]; then
  echo "  minikube tunnel runs in the background for $URL (pid $TUNNEL_PID): kill $TUNNEL_PID to stop it"
fi
echo

if [ "${SKIP_SMOKE:-}" != 1 ]; then
  # The cluster is this script's own: it may keep the smoke test's accounts.
  scripts/smoke.sh --allow-remote "$URL"
fi
