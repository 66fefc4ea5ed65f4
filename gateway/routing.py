"""The Ingress rules, once: a Prefix match on /command and /query, with no path rewrite."""

from typing import Literal

Upstream = Literal["command", "query"]
PREFIXES: dict[str, Upstream] = {"/command": "command", "/query": "query"}


def upstream_for(path: str) -> Upstream | None:
    for prefix, upstream in PREFIXES.items():
        # Kubernetes Prefix matching is per path element:
        # /command matches /command/x, not /commands.
        if path == prefix or path.startswith(prefix + "/"):
            return upstream
    return None
