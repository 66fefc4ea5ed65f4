"""`kubectl kustomize` of an overlay must yield the objects `helm template` yields.

    python -m deploy_checks.kustomize_equal KUSTOMIZED.yaml HELM.yaml

Secrets aside: kustomize generates them (the chart is told they exist), and every reference to a
generated Secret carries its hash suffix, which is undone before comparing.
"""

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deploy_checks.manifests import Manifest, load_all

HASH_SUFFIX = re.compile(r"-[a-z0-9]{10}$")
Key = tuple[str, str]


def by_kind_and_name(manifests: list[Manifest]) -> dict[Key, Manifest]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests}


def without_hash_suffixes(value: Any, generated: dict[str, str]) -> Any:
    """`value` with every generated Secret's hashed name replaced by its name in the chart."""
    if isinstance(value, dict):
        return {k: without_hash_suffixes(v, generated) for k, v in value.items()}
    if isinstance(value, list):
        return [without_hash_suffixes(v, generated) for v in value]
    if isinstance(value, str) and value in generated:
        return generated[value]
    return value


def differences(a: Any, b: Any, here: str = "") -> Iterator[str]:
    """Paths where two objects differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from differences(a.get(key), b.get(key), f"{here}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from differences(x, y, f"{here}[{i}]")
    elif a != b:
        yield f"{here}: helm {a!r} != kustomize {b!r}"


def compare(kustomized: list[Manifest], helm: list[Manifest]) -> str:
    """A one-line summary when equal; raises AssertionError naming the differences otherwise."""
    built, expected = by_kind_and_name(kustomized), by_kind_and_name(helm)
    secrets = {key for key in built if key[0] == "Secret"}
    if not secrets:
        raise AssertionError("the overlay generated no Secret")
    generated = {name: HASH_SUFFIX.sub("", name) for _, name in secrets}
    built = {k: without_hash_suffixes(m, generated) for k, m in built.items() if k not in secrets}
    only_helm, only_kustomize = set(expected) - set(built), set(built) - set(expected)
    if only_helm or only_kustomize:
        raise AssertionError(
            f"objects differ: only in helm {sorted(only_helm)}, only in kustomize {sorted(only_kustomize)}"
        )
    different = {
        f"{kind}/{name}": list(differences(expected[(kind, name)], built[(kind, name)]))[:5]
        for kind, name in expected
        if expected[(kind, name)] != built[(kind, name)]
    }
    if different:
        raise AssertionError(
            f"objects differ between helm and kustomize (k8s/ stale or a patch edited?): {different}"
        )
    return f"{len(expected)} objects identical to helm template; {len(secrets)} Secrets generated"


def main(argv: list[str]) -> int:
    kustomized, helm = (load_all(Path(path)) for path in argv)
    try:
        print(compare(kustomized, helm))
    except AssertionError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
