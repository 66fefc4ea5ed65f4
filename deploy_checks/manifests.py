"""Reading `helm template` / `kubectl kustomize` output and writing YAML the way k8s/ is stored.

python -m deploy_checks.manifests to-json FILE.yaml     (one document, printed as JSON)
"""

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
# (apiVersion, kind, name): unique within one namespace-scoped render.
ObjectKey = tuple[str, str, str]


class _BlockDumper(yaml.SafeDumper):
    """Block style with indented lists, literal blocks for multi-line strings."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    return yaml.dump(
        data, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, width=100
    )


def load_all(path: Path) -> list[Manifest]:
    """Every non-empty document of a multi-document YAML file."""
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def key_of(manifest: Manifest) -> ObjectKey:
    return (manifest["apiVersion"], manifest["kind"], manifest["metadata"]["name"])


def split_render(text: str) -> list[tuple[ObjectKey, Manifest, str]]:
    """(key, object, raw text without helm's `# Source:` lines) for every object of a render."""
    documents = []
    for raw in re.split(r"^---\s*$", text, flags=re.MULTILINE):
        manifest = yaml.safe_load(raw)
        if not manifest:
            continue
        kept = "\n".join(
            line for line in raw.strip("\n").splitlines() if not line.startswith("# Source:")
        )
        documents.append((key_of(manifest), manifest, kept.strip("\n") + "\n"))
    keys = [key for key, _, _ in documents]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate objects in a render: {duplicates}")
    return documents


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "to-json":
        print("usage: python -m deploy_checks.manifests to-json FILE.yaml", file=sys.stderr)
        return 2
    (document,) = load_all(Path(argv[1]))
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
