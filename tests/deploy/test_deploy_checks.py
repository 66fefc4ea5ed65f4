"""The Python behind `make manifests` and `make k8s-check`, on small inputs."""

import json
from pathlib import Path
from typing import Any

import pytest

from deploy_checks import build_context, checkov_report, json_patch, kustomize_equal, workflow_runs
from deploy_checks.manifests import split_render


def deployment(image: str, env_from: str = "app-secrets") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"a/b": "x"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": image,
                            "envFrom": [{"secretRef": {"name": env_from}}],
                        }
                    ]
                }
            }
        },
    }


def test_a_json_patch_turns_the_base_object_into_the_overlay_object() -> None:
    base = deployment("web:1")
    overlay = deployment("web:2")
    overlay["metadata"]["labels"] = {"a/b": "y", "c~d": "new"}
    overlay["spec"]["replicas"] = 3
    del overlay["spec"]["template"]["spec"]["containers"][0]["envFrom"]

    operations = json_patch.diff(base, overlay)

    assert json_patch.apply(base, operations) == overlay
    assert {"op": "replace", "path": "/metadata/labels/a~1b", "value": "y"} in operations
    assert {"op": "add", "path": "/metadata/labels/c~0d", "value": "new"} in operations
    assert json_patch.diff(base, base) == []


def test_a_render_with_the_same_object_twice_is_refused() -> None:
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n"
    with pytest.raises(ValueError, match="duplicate"):
        split_render(f"---\n# Source: a\n{doc}---\n{doc}")
    ((key, _, raw),) = split_render(f"---\n# Source: x.yaml\n{doc}")
    assert key == ("v1", "ConfigMap", "same")
    assert "# Source" not in raw


def secret(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}}


def test_kustomize_output_equals_the_chart_once_secret_hash_suffixes_are_undone() -> None:
    kustomized = [secret("app-secrets-5t8f2bh9kd"), deployment("web:1", "app-secrets-5t8f2bh9kd")]
    summary = kustomize_equal.compare(kustomized, [deployment("web:1")])
    assert summary.startswith("1 objects identical")


def test_kustomize_output_that_differs_from_the_chart_is_reported_with_the_path() -> None:
    kustomized = [secret("app-secrets-5t8f2bh9kd"), deployment("web:2", "app-secrets-5t8f2bh9kd")]
    with pytest.raises(AssertionError, match=r"containers\[0\]\.image"):
        kustomize_equal.compare(kustomized, [deployment("web:1")])
    with pytest.raises(AssertionError, match="no Secret"):
        kustomize_equal.compare([deployment("web:1")], [deployment("web:1")])


def checkov(
    failed: int = 0, skipped: list[str | None] | None = None, resources: int = 3
) -> dict[str, Any]:
    skips = [{"check_id": "CKV_X", "check_result": {"suppress_comment": r}} for r in skipped or []]
    fails = [{"check_id": "CKV_K8S_16", "check_name": "privileged"}] * failed
    return {
        "summary": {
            "passed": 5,
            "failed": failed,
            "skipped": len(skips),
            "resource_count": resources,
        },
        "results": {"failed_checks": fails, "skipped_checks": skips},
    }


def test_a_checkov_report_passes_only_with_zero_failures_something_scanned_and_reasons() -> None:
    assert checkov_report.tally(checkov(skipped=["why"]), "t").skipped_ids == {"CKV_X"}
    with pytest.raises(checkov_report.ReportError, match="FAILED CKV_K8S_16"):
        checkov_report.tally(checkov(failed=1), "t")
    with pytest.raises(checkov_report.ReportError, match="scanned nothing"):
        checkov_report.tally(checkov(resources=0), "t")
    with pytest.raises(checkov_report.ReportError, match="without a reason"):
        checkov_report.tally(checkov(skipped=[" "]), "t")
    with pytest.raises(checkov_report.ReportError, match="no report"):
        checkov_report.tally([], "t")


def test_the_build_context_follows_dockerignore_and_must_hold_the_wheel_packages(
    tmp_path: Path,
) -> None:
    root, dest = tmp_path / "project", tmp_path / "context"
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "secret").mkdir()
    for name in (
        "pyproject.toml",
        "uv.lock",
        "README.md",
        "pkg/a.py",
        "pkg/__pycache__/a.pyc",
        "secret/x",
    ):
        (root / name).write_text("[tool.hatch.build.targets.wheel]\npackages = ['pkg', 'other']\n")
    (root / ".dockerignore").write_text(
        "*\n!pyproject.toml\n!uv.lock\n!README.md\n!pkg/\n**/__pycache__\n"
    )

    assert build_context.copy_context(root, dest) == 4
    assert (dest / "pkg" / "a.py").exists()
    assert not (dest / "secret").exists()
    assert not (dest / "pkg" / "__pycache__").exists()
    assert build_context.missing_from_context(root, dest) == ["other"]


def test_every_run_block_of_a_workflow_becomes_a_bash_script(tmp_path: Path) -> None:
    workflow = tmp_path / "ci.yml"
    workflow.write_text(
        json.dumps({"jobs": {"j": {"steps": [{"uses": "x"}, {"run": 'echo "${{ github.ref }}"'}]}}})
    )
    assert workflow_runs.run_blocks(workflow) == {
        "ci.yml-j-1.sh": '#!/usr/bin/env bash\nset -e\necho "GITHUB_EXPRESSION"'
    }
