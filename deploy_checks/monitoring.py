"""The chart's monitoring objects, taken apart for the tools that check them (`make k8s-check`).

    python -m deploy_checks.monitoring split RENDER.yaml OUT_DIR

From a render with every monitoring object enabled, writes to OUT_DIR:

- `PodMonitor.json`, `PrometheusRule.json`: the objects, for their CRD schemas
  (@kubernetes-models/prometheus-operator);
- `rules.yaml`: the PrometheusRule's groups as a Prometheus rule file, for `promtool check rules`
  and `promtool test rules` (`alert-rules.test.yaml` beside this module, copied next to it);
- `dashboard-queries.yaml`: every query of the Grafana dashboard as a recording rule (Grafana's
  variables replaced by sample values), so that promtool parses each one as PromQL.

It prints what it wrote. `series_in` lists the microblog series an expression reads, for the test
that every one of them is exported by the code (tests/deploy/test_monitoring.py).
"""

import json
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from deploy_checks.manifests import Manifest, load_all

HERE = Path(__file__).resolve().parent
ALERT_TESTS = HERE / "alert-rules.test.yaml"
# Grafana's variables, as a query would see them at run time.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": "microblog"}
_SERIES = re.compile(r"\b(microblog_[a-z0-9_]+)")
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def only(manifests: list[Manifest], kind: str) -> Manifest:
    (found,) = [m for m in manifests if m["kind"] == kind]
    return found


def dashboard_of(manifests: list[Manifest]) -> dict[str, Any]:
    (config_map,) = [
        m for m in manifests if m["kind"] == "ConfigMap" and "microblog.json" in m.get("data", {})
    ]
    dashboard: dict[str, Any] = json.loads(config_map["data"]["microblog.json"])
    return dashboard


def dashboard_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, query) for every target of every panel."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def as_promql(query: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
    return query


def alert_expressions(rule: Manifest) -> Iterator[str]:
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            yield str(item["expr"])


def series_in(expressions: Iterable[str]) -> set[str]:
    """The microblog metric families the expressions read (histogram and counter suffixes
    removed)."""
    names = set()
    for expression in expressions:
        for name in _SERIES.findall(expression):
            for suffix in _SUFFIXES:
                if name.endswith(suffix):
                    name = name.removesuffix(suffix)
                    break
            names.add(name)
    return names


def split(render: Path, out: Path) -> list[str]:
    manifests = load_all(render)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ("PodMonitor", "PrometheusRule"):
        (out / f"{kind}.json").write_text(json.dumps(only(manifests, kind)))
        written.append(f"{kind}.json")
    rule = only(manifests, "PrometheusRule")
    (out / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    shutil.copy(ALERT_TESTS, out / ALERT_TESTS.name)
    queries = list(dashboard_queries(dashboard_of(manifests)))
    recording = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{index}", "expr": as_promql(query)}
                    for index, (_, query) in enumerate(queries)
                ],
            }
        ]
    }
    (out / "dashboard-queries.yaml").write_text(yaml.safe_dump(recording))
    alerts = sum(len(group["rules"]) for group in rule["spec"]["groups"])
    written += ["rules.yaml", ALERT_TESTS.name, "dashboard-queries.yaml"]
    print(f"{alerts} alerts, {len(queries)} dashboard queries: {', '.join(written)}")
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "split":
        print(__doc__, file=sys.stderr)
        return 2
    split(Path(argv[1]), Path(argv[2]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
