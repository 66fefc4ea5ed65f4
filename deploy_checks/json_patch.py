"""RFC 6902 patches between two objects, as the overlays of k8s/ store them."""

import copy
from typing import Any

Operation = dict[str, Any]


def pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901 JSON pointer of a path."""
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)


def diff(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[Operation]:
    """Operations turning `old` into `new`. Lists of equal length are diffed item by item, other
    lists are replaced whole (kustomize applies index-based operations exactly)."""
    if type(old) is not type(new):
        return [{"op": "replace", "path": pointer(path), "value": new}]
    if isinstance(old, dict):
        operations: list[Operation] = [
            {"op": "remove", "path": pointer((*path, key))} for key in old if key not in new
        ]
        for key, value in new.items():
            if key in old:
                operations.extend(diff(old[key], value, (*path, key)))
            else:
                operations.append({"op": "add", "path": pointer((*path, key)), "value": value})
        return operations
    if isinstance(old, list):
        if len(old) != len(new):
            return [{"op": "replace", "path": pointer(path), "value": new}]
        return [
            op
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for op in diff(a, b, (*path, i))
        ]
    return [] if old == new else [{"op": "replace", "path": pointer(path), "value": new}]


def apply(document: Any, operations: list[Operation]) -> Any:
    """Apply `diff`'s operations (add, remove, replace only): lets the tests prove a round trip."""
    result = copy.deepcopy(document)
    for operation in operations:
        parts: list[str] = [
            p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]
        ]
        if not parts:
            result = copy.deepcopy(operation["value"])
            continue
        parent = result
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last: str | int = int(parts[-1]) if isinstance(parent, list) else parts[-1]
        if operation["op"] == "remove":
            del parent[last]
        else:
            parent[last] = copy.deepcopy(operation["value"])
    return result
