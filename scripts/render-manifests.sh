#!/usr/bin/env bash
# Render k8s/ (plain manifests for `kubectl apply -k`) from the Helm chart.
#
#   scripts/render-manifests.sh [OUT_DIR]      (default: k8s; `make manifests`)
#
# The chart is the single source of every object; k8s/ is generated and
# committed so that people without Helm can deploy, and so that reviews show
# the effect of a chart change on the real objects.
#
#   k8s/base                 the chart with its default values, MongoDB external
#   k8s/overlays/minikube    values-minikube.yaml (bundled MongoDB replica set)
#   k8s/overlays/production  values-production.yaml
#
# deploy_checks/render.py writes the files: each overlay is the base plus
# RFC 6902 JSON patches computed object by object from the chart rendered with
# that overlay's values, plus the objects only that overlay has. `kubectl kustomize k8s/overlays/X` therefore yields
# exactly what `helm template -f values-X.yaml` yields (scripts/k8s-check.sh
# verifies this), except for Secrets:
#
# Secrets are never rendered. Every overlay generates them with a kustomize
# secretGenerator from git-ignored env files (secrets.env, and mongodb.env for
# Minikube) next to its kustomization.yaml; *.env.example shows the keys.
# The output is deterministic: rendering twice gives identical files, which is
# what the staleness check in scripts/k8s-check.sh relies on.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/k8s}
CHART=$ROOT/helm/microblog
RELEASE=microblog
NAMESPACE=microblog

"$ROOT/scripts/install-k8s-tools.sh" helm
HELM=$ROOT/.tools/bin/helm
# uv from PATH, else the copy the Makefile bootstraps into .tools/.
UV=$(command -v uv || echo "$ROOT/.tools/bin/uv")

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Secrets come from the overlays' secretGenerators (names below), never from
# the chart, so nothing random is rendered. Tests are helm-only.
render() {
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --skip-tests \
    --set secret.existingSecret=microblog-secrets "$@"
}
render --set mongodb.enabled=false >"$WORK/base.yaml"
render -f "$CHART/values-minikube.yaml" \
  --set mongodb.auth.existingSecret=microblog-mongodb >"$WORK/minikube.yaml"
render -f "$CHART/values-production.yaml" >"$WORK/production.yaml"

# Generate into the scratch directory; replace $OUT only once that has succeeded.
(cd "$ROOT" && "$UV" run --quiet --frozen --extra embedded python -m deploy_checks.render "$WORK" "$WORK/out" "$NAMESPACE")
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
mv "$WORK/out" "$OUT"
echo "render-manifests: wrote $(find "$OUT" -type f | wc -l | tr -d ' ') files under ${OUT#"$ROOT"/}" >&2
