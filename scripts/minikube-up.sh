#!/usr/bin/env bash
# Run microblog on a local Minikube, from nothing to a passing smoke test.
#
#   scripts/minikube-up.sh
#
# 1. starts Minikube unless it is running, enables the ingress and
#    metrics-server addons;
# 2. builds both images inside Minikube (no registry), tagged with a hash of
#    their sources so that a rebuild with changes rolls the pods;
# 3. helm upgrade --install --wait with values-minikube.yaml (bundled MongoDB);
# 4. waits for the rollouts, prints the URL and runs scripts/smoke.sh on it.
#
# Settings (environment):
#   MINIKUBE_PROFILE    minikube profile              (minikube)
#   MINIKUBE_DRIVER     driver for a new cluster      (docker)
#   MINIKUBE_CPUS       CPUs for a new cluster        (2)
#   MINIKUBE_MEMORY     memory for a new cluster, MB  (4096)
#   KUBERNETES_VERSION  Kubernetes of a new cluster   (v1.34.0)
#   NAMESPACE, RELEASE  where and as what to install  (microblog, microblog)
#   IMAGE_TAG           image tag                     (dev-<source hash>)
#   HELM_TIMEOUT        helm --wait timeout           (10m)
#   SKIP_SMOKE=1        do not run scripts/smoke.sh
#
# Needs minikube (https://minikube.sigs.k8s.io) and, for the docker driver, a
# Docker engine. helm and kubectl are installed into .tools/bin (pinned).
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

command -v minikube >/dev/null ||
  die "minikube is not installed: see https://minikube.sigs.k8s.io/docs/start/"
scripts/install-k8s-tools.sh helm
export PATH="$ROOT/.tools/bin:$PATH"

# 1. Cluster and addons ------------------------------------------------------
if minikube -p "$PROFILE" status --format '{{.APIServer}}' 2>/dev/null | grep -q Running; then
  say "Minikube profile '$PROFILE' is running"
else
  say "starting Minikube profile '$PROFILE'"
  minikube start -p "$PROFILE" \
    --driver="${MINIKUBE_DRIVER:-docker}" \
    --kubernetes-version="${KUBERNETES_VERSION:-v1.34.0}" \
    --cpus="${MINIKUBE_CPUS:-2}" \
    --memory="${MINIKUBE_MEMORY:-4096}"
fi
kubectl config use-context "$PROFILE" >/dev/null
# The addon's controller runs in namespace ingress-nginx with the labels the
# chart's NetworkPolicy expects; metrics-server feeds the HPAs.
minikube -p "$PROFILE" addons enable ingress
minikube -p "$PROFILE" addons enable metrics-server

# 2. Images -------------------------------------------------------------------
# Tag = hash of everything that goes into the images: unchanged sources keep
# the running pods, any change rolls them.
source_hash() {
  python3 - <<'PY'
import hashlib, pathlib, tomllib
root = pathlib.Path(".")
packages = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
files = [root / f for f in ("Dockerfile", ".dockerignore", "pyproject.toml", "uv.lock", "README.md")]
for package in packages:
    files += [p for p in (root / package).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
digest = hashlib.sha256()
for path in sorted(files):
    digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
print(digest.hexdigest()[:12])
PY
}
TAG=${IMAGE_TAG:-dev-$(source_hash)}

runtime=$(kubectl get nodes -o jsonpath='{.items[0].status.nodeInfo.containerRuntimeVersion}')
for target in command query; do
  image="microblog-$target:$TAG"
  if minikube -p "$PROFILE" image ls 2>/dev/null | grep -q "microblog-$target:$TAG\$"; then
    say "$image is already in Minikube"
    continue
  fi
  say "building $image inside Minikube"
  if [[ $runtime == docker://* ]] && command -v docker >/dev/null; then
    # Build straight into the node's Docker engine.
    (
      eval "$(minikube -p "$PROFILE" docker-env --shell bash)"
      docker build --target "$target" -t "$image" .
    )
  else
    minikube -p "$PROFILE" image build --build-opt="target=$target" -t "$image" .
  fi
done

# 3. Install ------------------------------------------------------------------
say "installing release '$RELEASE' into namespace '$NAMESPACE' (image tag $TAG)"
helm upgrade --install "$RELEASE" "$CHART" \
  --namespace "$NAMESPACE" --create-namespace \
  -f "$CHART/values-minikube.yaml" \
  --set image.tag="$TAG" \
  --wait --timeout "${HELM_TIMEOUT:-10m}"

# 4. Rollouts, URL, smoke test ------------------------------------------------
selector="app.kubernetes.io/instance=$RELEASE"
kubectl -n "$NAMESPACE" rollout status deployment -l "$selector" --timeout=5m
kubectl -n "$NAMESPACE" rollout status statefulset -l "$selector" --timeout=5m
kubectl -n "$NAMESPACE" wait --for=condition=complete job \
  -l "app.kubernetes.io/component=mongodb-init,$selector" --timeout=5m

URL="http://$(minikube -p "$PROFILE" ip)"
say "waiting for the Ingress to route $URL/query/..."
# The application answers an unknown user with a JSON 404; nginx's own
# 404/503 pages are HTML. Route up = a JSON answer.
for attempt in $(seq 1 60); do
  type=$(curl -s -o /dev/null -m 5 -w '%{content_type}' "$URL/query/v1/users/route_probe" || true)
  [[ $type == *json* ]] && break
  [ "$attempt" -lt 60 ] || die "no answer from the application through $URL (macOS/Windows docker driver: run \`minikube tunnel\` and use http://127.0.0.1)"
  sleep 2
done

echo
echo "microblog is up: $URL"
echo "  commands: $URL/command/v1/...   queries: $URL/query/v1/..."
echo "  helm test $RELEASE -n $NAMESPACE        # in-cluster check"
echo "  scripts/minikube-down.sh              # remove it again"
echo

if [ "${SKIP_SMOKE:-}" != 1 ]; then
  scripts/smoke.sh "$URL"
fi
