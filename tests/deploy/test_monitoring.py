"""The chart's observability: /metrics is scraped in the cluster and never routed from outside,
the PodMonitor, alerts and dashboard read series the code exports, each alert has its runbook,
and traces reach the optional collector through the NetworkPolicies."""

import json
import re

from deploy_checks.monitoring import alert_expressions, dashboard_of, dashboard_queries, series_in
from gateway.routing import PREFIXES, upstream_for
from query_service.projector.metrics import ProjectorMetrics
from service_kit.observability.metrics import Telemetry
from tests.deploy.chart import ROOT, Manifest, find, helm_template

MONITORING_ON = (
    "--set",
    "monitoring.podMonitor.enabled=true",
    "--set",
    "monitoring.prometheusRule.enabled=true",
    "--set",
    "monitoring.grafanaDashboard.enabled=true",
    "--set",
    "monitoring.otelCollector.enabled=true",
)
SCRAPER = "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring"
PROCESSES = {"command": 8081, "query": 8082, "projector": 8083}


def only(manifests: list[Manifest], kind: str) -> Manifest:
    (found,) = [m for m in manifests if m["kind"] == kind]
    return found


def test_metrics_are_served_beside_the_probes_and_never_routed_from_outside() -> None:
    renders = [
        helm_template(),
        helm_template("-f", str(ROOT / "helm/microblog/values-minikube.yaml")),
        helm_template(
            "-f",
            str(ROOT / "helm/microblog/values-production.yaml"),
            "--set",
            "httpRoute.enabled=true",
        ),
    ]
    routed: set[tuple[str, str]] = set()
    for manifests in renders:
        for ingress in (m for m in manifests if m["kind"] == "Ingress"):
            for rule in ingress["spec"]["rules"]:
                routed |= {(p["pathType"], p["path"]) for p in rule["http"]["paths"]}
        for route in (m for m in manifests if m["kind"] == "HTTPRoute"):
            for rule in route["spec"]["rules"]:
                routed |= {(m["path"]["type"], m["path"]["value"]) for m in rule["matches"]}
    # Only the two API prefixes, matched per path element: /metrics is under neither, and the
    # local gateway routes exactly the same prefixes.
    assert routed == {
        ("Prefix", "/command"),
        ("Prefix", "/query"),
        ("PathPrefix", "/command"),
        ("PathPrefix", "/query"),
    }
    assert set(PREFIXES) == {"/command", "/query"}
    assert upstream_for("/metrics") is None


def test_every_process_is_annotated_for_a_scrape_of_its_own_port() -> None:
    manifests = helm_template()
    for process, port in PROCESSES.items():
        deployment = find(manifests, "Deployment", f"microblog-{process}")
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        assert annotations["prometheus.io/path"] == "/metrics"
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["ports"][0]["containerPort"] == port
    quiet = helm_template("--set", "monitoring.scrapeAnnotations=false")
    for process in PROCESSES:
        annotations = find(quiet, "Deployment", f"microblog-{process}")["spec"]["template"][
            "metadata"
        ]["annotations"]
        assert not any(key.startswith("prometheus.io/") for key in annotations)


def test_the_scraper_named_in_metrics_from_reaches_every_process_on_its_port() -> None:
    without = helm_template()
    manifests = helm_template("--set", SCRAPER)
    for process in PROCESSES:
        policy = find(manifests, "NetworkPolicy", f"microblog-{process}")
        scraped = [
            rule
            for rule in policy["spec"].get("ingress", [])
            if {"namespaceSelector": {"matchLabels": {"team": "monitoring"}}} in rule["from"]
        ]
        assert len(scraped) == 1, process
        [port] = scraped[0]["ports"]
        assert port["port"] in ("http", PROCESSES[process])
        # Without metricsFrom, no one new is let in.
        before = find(without, "NetworkPolicy", f"microblog-{process}")["spec"].get("ingress", [])
        assert len(policy["spec"]["ingress"]) == len(before) + 1


def test_the_pod_monitor_scrapes_the_three_processes_on_their_http_port() -> None:
    assert not [m for m in helm_template() if m["kind"] in ("PodMonitor", "PrometheusRule")]
    monitor = only(helm_template(*MONITORING_ON), "PodMonitor")
    selector = monitor["spec"]["selector"]
    assert selector["matchLabels"] == {
        "app.kubernetes.io/name": "microblog",
        "app.kubernetes.io/instance": "microblog",
    }
    assert selector["matchExpressions"] == [
        {"key": "app.kubernetes.io/component", "operator": "In", "values": list(PROCESSES)}
    ]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")


def test_alerts_and_dashboard_read_only_series_the_code_exports() -> None:
    manifests = helm_template(*MONITORING_ON)
    exported = {
        family.name
        for registry in (Telemetry().registry, ProjectorMetrics().registry)
        for family in registry.collect()
    }
    alerts = list(alert_expressions(only(manifests, "PrometheusRule")))
    queries = [query for _, query in dashboard_queries(dashboard_of(manifests))]

    assert series_in(alerts) <= exported
    assert series_in(queries) <= exported
    # What the issue asks the dashboard and the alerts to show.
    assert {
        "microblog_http_request_duration_seconds",
        "microblog_projector_write_to_visible_seconds",
        "microblog_projector_lag_seconds",
        "microblog_projector_fanout_writes",
    } <= series_in(queries)
    assert any("kube_horizontalpodautoscaler_status_current_replicas" in q for q in queries)
    assert {
        "microblog_projector_lag_seconds",
        "microblog_http_request_duration_seconds",
        "microblog_projector_write_to_visible_seconds",
    } == series_in(alerts)


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lowercased, punctuation dropped, spaces to dashes."""
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    }


def test_each_alert_links_its_runbook_paragraph_in_the_kubernetes_guide() -> None:
    rule = only(helm_template(*MONITORING_ON), "PrometheusRule")
    anchors = _anchors((ROOT / "docs/kubernetes.md").read_text())
    alerts = [item for group in rule["spec"]["groups"] for item in group["rules"]]
    assert {item["alert"] for item in alerts} == {
        "MicroblogProjectorLagging",
        "MicroblogWriteToVisibleSlow",
        "MicroblogHighErrorRatio",
        "MicroblogSlowRequests",
    }
    for item in alerts:
        path, anchor = item["annotations"]["runbook_url"].split("#")
        assert path == "docs/kubernetes.md"
        assert anchor == item["alert"].lower()
        assert anchor in anchors, f"docs/kubernetes.md has no runbook heading for {item['alert']}"
    base = "https://git.example.com/team/microblog/blob/main/docs/kubernetes.md"
    moved = only(
        helm_template(*MONITORING_ON, "--set", f"monitoring.prometheusRule.runbookBaseUrl={base}"),
        "PrometheusRule",
    )
    urls = {i["annotations"]["runbook_url"] for g in moved["spec"]["groups"] for i in g["rules"]}
    assert all(url.startswith(base + "#") for url in urls)


def test_the_dashboard_is_a_config_map_for_grafanas_sidecar() -> None:
    manifests = helm_template(*MONITORING_ON)
    dashboards = [
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "microblog-dashboard"
    ]
    [config_map] = dashboards
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((ROOT / "helm/microblog/files/grafana-dashboard.json").read_text())
    assert dashboard_of(manifests) == shipped
    assert shipped["uid"] == "microblog"


def _selected(policy: Manifest, pod_labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(pod_labels.get(key) == value for key, value in wanted.items())


def test_traces_go_to_the_collector_and_nowhere_else_by_default() -> None:
    config = find(helm_template(), "ConfigMap", "microblog-config")
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in config["data"]

    manifests = helm_template(*MONITORING_ON)
    config = find(manifests, "ConfigMap", "microblog-config")
    assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        "http://microblog-otel-collector.microblog.svc.cluster.local:4318"
    )
    collector = find(manifests, "Deployment", "microblog-otel-collector")
    service = find(manifests, "Service", "microblog-otel-collector")
    assert service["spec"]["ports"][0]["port"] == 4318
    pod_labels = collector["spec"]["template"]["metadata"]["labels"]
    for process in PROCESSES:
        egress = find(manifests, "NetworkPolicy", f"microblog-{process}")["spec"]["egress"]
        to_collector = [
            rule for rule in egress if any(_labels_match(peer, pod_labels) for peer in rule["to"])
        ]
        assert [rule["ports"] for rule in to_collector] == [[{"protocol": "TCP", "port": 4318}]]
    policy = find(manifests, "NetworkPolicy", "microblog-otel-collector")
    assert policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 4318}]
    # Every pod of the chart is still selected by exactly one policy.
    policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    for workload in (m for m in manifests if m["kind"] in ("Deployment", "StatefulSet")):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert sum(_selected(p, labels) for p in policies) == 1, workload["metadata"]["name"]

    external = helm_template(
        "--set",
        "monitoring.tracing.otlpEndpoint=http://tempo.tracing:4318",
        "--set",
        "networkPolicy.tracesTo[0].namespaceSelector.matchLabels.team=tracing",
    )
    config = find(external, "ConfigMap", "microblog-config")
    assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://tempo.tracing:4318"
    egress = find(external, "NetworkPolicy", "microblog-query")["spec"]["egress"]
    assert {
        "to": [{"namespaceSelector": {"matchLabels": {"team": "tracing"}}}],
        "ports": [{"protocol": "TCP", "port": 4318}],
    } in egress


def _labels_match(peer: Manifest, labels: dict[str, str]) -> bool:
    wanted = peer.get("podSelector", {}).get("matchLabels")
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def test_the_guide_documents_every_monitoring_value() -> None:
    values = (ROOT / "helm/microblog/values.yaml").read_text()
    guide = (ROOT / "docs/kubernetes.md").read_text()
    block = values[values.index("\nmonitoring:") :]
    for key in (
        "podMonitor",
        "prometheusRule",
        "grafanaDashboard",
        "otelCollector",
        "scrapeAnnotations",
    ):
        assert key in block
        assert f"monitoring.{key}" in guide, key
