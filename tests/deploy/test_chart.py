"""The rendered chart and overlays hold what a real cluster needs (issue 10's defects)."""

import base64
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from starlette.requests import HTTPConnection

from service_kit.client_ip import client_ip
from tests.deploy.chart import (
    CHART,
    ROOT,
    container,
    env,
    find,
    helm_template,
    helm_template_error,
    kustomize,
    names,
)

PRODUCTION = ("-f", str(CHART / "values-production.yaml"))


def pod_annotations(manifests: list[dict], name: str) -> dict[str, str]:
    return find(manifests, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]


def test_generated_secrets_do_not_change_the_pods_checksum_from_render_to_render() -> None:
    first, second = helm_template(), helm_template()
    # The generated values differ (no lookup outside a cluster) ...
    assert find(first, "Secret", "microblog")["data"] != find(second, "Secret", "microblog")["data"]
    # ... but the pods' checksum hashes only what the values decide.
    checksum = pod_annotations(first, "microblog-command")["checksum/secret"]
    assert pod_annotations(second, "microblog-command")["checksum/secret"] == checksum
    changed = helm_template("--set", "secret.jwtSecret=" + "x" * 40)
    assert pod_annotations(changed, "microblog-command")["checksum/secret"] != checksum


def overlay_with_env_files(tmp_path: Path, overlay: str, mongodb_env: str) -> Path:
    copy = tmp_path / "k8s"
    shutil.copytree(ROOT / "k8s", copy, dirs_exist_ok=True)
    directory = copy / "overlays" / overlay
    for example in directory.glob("*.env.example"):
        shutil.copy(example, directory / example.name.removesuffix(".example"))
    (directory / "mongodb.env").write_text(mongodb_env)
    return directory


def test_editing_mongodb_env_changes_no_immutable_job_template_and_reruns_the_reconciler(
    tmp_path: Path,
) -> None:
    builds = []
    for app_password in ("first0", "second0"):
        mongodb_env = f"root-password=root0\napp-password={app_password}\nkeyfile=a2V5ZmlsZQ==\n"
        builds.append(kustomize(overlay_with_env_files(tmp_path, "minikube", mongodb_env)))

    for build in builds:
        # A Job's pod template is immutable: `kubectl apply -k` fails once it references a
        # Secret whose hashed name changed.
        secrets = names(build, "Secret")
        for job in (m for m in build if m["kind"] == "Job"):
            assert not set(re.findall(r"microblog-[a-z-]+-[a-z0-9]{10}", str(job))) & secrets
    reconcilers = [find(b, "Deployment", "microblog-mongodb-init") for b in builds]
    volumes = [r["spec"]["template"]["spec"]["volumes"] for r in reconcilers]
    secret_names = [next(v["secret"]["secretName"] for v in vs if "secret" in v) for vs in volumes]
    assert secret_names[0] != secret_names[1], (
        "the reconciler must roll (and re-run) on a new Secret"
    )
    assert all(name.startswith("microblog-mongodb-") for name in secret_names)


def test_a_grown_replica_set_lists_every_member_by_fully_qualified_name() -> None:
    manifests = helm_template("--set", "mongodb.replicaCount=3")
    hosts = env(container(find(manifests, "Deployment", "microblog-mongodb-init"), "init"))[
        "MONGODB_HOSTS"
    ].split(",")
    assert hosts == [
        f"microblog-mongodb-{i}.microblog-mongodb-headless.microblog.svc.cluster.local:27017"
        for i in range(3)
    ]
    uri = env(container(find(manifests, "Deployment", "microblog-query"), "query"))["MONGODB_URI"]
    assert ",".join(hosts) in uri
    assert find(manifests, "StatefulSet", "microblog-mongodb")["spec"]["replicas"] == 3


FAKE_MONGOSH = """#!/bin/sh
echo "$HOME|$*" >>"$PROBE_LOG"
echo log >"$HOME/mongosh.log"
exit "$MONGOSH_EXIT"
"""


def test_mongod_probes_ask_mongod_itself_and_leave_no_files_behind(tmp_path: Path) -> None:
    mongod = container(find(helm_template(), "StatefulSet", "microblog-mongodb"), "mongod")
    (tmp_path / "bin").mkdir()
    (tmp_path / "scratch").mkdir()
    (tmp_path / "bin" / "mongosh").write_text(FAKE_MONGOSH)
    (tmp_path / "bin" / "mongosh").chmod(0o755)
    log = tmp_path / "probe.log"
    for probe, expected_script in (
        ("startupProbe", "db.adminCommand({ ping: 1 })"),
        ("livenessProbe", "db.adminCommand({ ping: 1 })"),
        ("readinessProbe", "isWritablePrimary || h.secondary"),
    ):
        assert "tcpSocket" not in mongod[probe]
        command = mongod[probe]["exec"]["command"]
        for exit_code in (0, 1):
            result = subprocess.run(  # noqa: S603 (the chart's own probe, a fake mongosh)
                command,
                env={
                    "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
                    "TMPDIR": str(tmp_path / "scratch"),
                    "PROBE_LOG": str(log),
                    "MONGOSH_EXIT": str(exit_code),
                },
                check=False,
            )
            assert result.returncode == exit_code, probe
        home, arguments = log.read_text().splitlines()[-1].split("|", 1)
        assert expected_script in arguments
        assert "mongodb://127.0.0.1:27017/" in arguments
        assert home.startswith(str(tmp_path / "scratch"))
    assert list((tmp_path / "scratch").iterdir()) == []


def as_unprivileged_user(command: list[str], *owned: Path) -> list[str]:
    """mongod's init container is not root, and root may write read-only files: drop root."""
    if os.geteuid() != 0:
        return command
    for path in owned:
        os.chown(path, 65534, 65534)
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]


STRONG_PASSWORD = "0123456789abcdef0123456789abcdef"  # what `openssl rand -hex 16` gives


@pytest.mark.parametrize(
    ("root_password", "keyfile", "refused"),
    [
        ("change-me", "a2V5ZmlsZQ" * 10, "root-password must be letters and digits"),
        ("REPLACEWITHRANDOMHEX1", "a2V5ZmlsZQ" * 10, "root-password is shorter than 24"),
        (STRONG_PASSWORD, "change-me", "keyfile must be base64 characters"),
        (STRONG_PASSWORD, "a2V5ZmlsZQ==", "keyfile must be 64 to 1024 characters"),
        (STRONG_PASSWORD, "a2V5ZmlsZQ" * 103, "keyfile must be 64 to 1024 characters"),
    ],
)
def test_mongodb_never_starts_with_a_placeholder_or_short_credential(
    root_password: str, keyfile: str, refused: str
) -> None:
    init = container(find(helm_template(), "StatefulSet", "microblog-mongodb"), "keyfile")
    with tempfile.TemporaryDirectory() as scratch:
        tmp_path = Path(scratch)
        (tmp_path / "secret").mkdir()
        (tmp_path / "keyfile").mkdir()
        (tmp_path / "secret" / "root-password").write_text(root_password + "\n")
        (tmp_path / "secret" / "keyfile").write_text(keyfile + "\n")
        script = init["command"][-1].replace("/etc/mongodb", str(tmp_path))
        result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)  # noqa: S603, S607 (the chart's own command)
        assert result.returncode != 0
        assert refused in result.stderr
        assert not (tmp_path / "keyfile" / "keyfile").exists()


def test_the_minikube_overlays_example_credentials_are_the_refused_placeholders() -> None:
    example = (ROOT / "k8s" / "overlays" / "minikube" / "mongodb.env.example").read_text()
    values = dict(line.split("=", 1) for line in example.splitlines() if not line.startswith("#"))
    assert values == {
        "root-password": "change-me",
        "app-password": "change-me",
        "keyfile": "change-me",
    }


def test_the_keyfile_init_container_can_run_twice_on_the_same_memory_volume() -> None:
    keyfile = container(find(helm_template(), "StatefulSet", "microblog-mongodb"), "keyfile")
    # Not pytest's tmp_path: its parents are private to the user who runs the tests.
    with tempfile.TemporaryDirectory() as scratch:
        run_keyfile_container_twice(keyfile["command"][-1], Path(scratch))


def run_keyfile_container_twice(command: str, tmp_path: Path) -> None:
    script = command.replace("/etc/mongodb", str(tmp_path))
    (tmp_path / "secret").mkdir()
    (tmp_path / "keyfile").mkdir()
    tmp_path.chmod(0o755)
    (tmp_path / "secret" / "root-password").write_text(STRONG_PASSWORD)
    # The second as openssl writes base64: wrapped lines, which mongod reads as one key.
    for content in ("first" * 20, "c2Vjb25k" * 8 + "\n" + "c2Vjb25k" * 8 + "\n"):
        (tmp_path / "secret" / "keyfile").write_text(content)
        command = as_unprivileged_user(
            ["sh", "-c", script], tmp_path / "keyfile", tmp_path / "secret" / "keyfile"
        )
        subprocess.run(command, check=True)  # noqa: S603 (the chart's own command)
        copied = tmp_path / "keyfile" / "keyfile"
        assert copied.read_text() == content
        assert stat.S_IMODE(copied.stat().st_mode) == 0o400


def test_without_leader_election_the_projector_has_no_token_role_or_api_egress() -> None:
    manifests = helm_template()
    assert not names(manifests, "Role")
    assert not names(manifests, "RoleBinding")
    projector = find(manifests, "Deployment", "microblog-projector")["spec"]["template"]["spec"]
    assert projector["automountServiceAccountToken"] is False
    assert (
        find(manifests, "ServiceAccount", "microblog-projector")["automountServiceAccountToken"]
        is False
    )
    egress = find(manifests, "NetworkPolicy", "microblog-projector")["spec"]["egress"]
    assert not any(
        "ipBlock" in peer and peer["ipBlock"]["cidr"] == "0.0.0.0/0"
        for rule in egress
        for peer in rule.get("to", [])
    )

    elected = helm_template("--set", "projector.leaderElection.enabled=true")
    binding = find(elected, "RoleBinding", "microblog-projector")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "microblog-projector", "namespace": "microblog"}
    ]
    assert (
        find(elected, "Deployment", "microblog-projector")["spec"]["template"]["spec"][
            "automountServiceAccountToken"
        ]
        is True
    )


def test_no_role_is_ever_bound_to_the_default_service_account() -> None:
    without_accounts = helm_template("--set", "serviceAccount.create=false")
    assert not names(without_accounts, "RoleBinding")
    error = helm_template_error(
        "--set", "serviceAccount.create=false", "--set", "projector.leaderElection.enabled=true"
    )
    assert "serviceAccount.create" in error


def test_dns_egress_also_reaches_nodelocal_dnscache() -> None:
    for policy in (m for m in helm_template() if m["kind"] == "NetworkPolicy"):
        dns_rules = [
            r for r in policy["spec"]["egress"] if {"port": 53, "protocol": "UDP"} in r["ports"]
        ]
        peers = [peer for rule in dns_rules for peer in rule["to"]]
        assert {"ipBlock": {"cidr": "169.254.20.10/32"}} in peers, policy["metadata"]["name"]


def egress_ports(policy: dict) -> list[tuple[tuple[str, ...], dict]]:
    """(the rule's peers, one port) for every port of every egress rule; no peers = anywhere."""
    return [
        (tuple(sorted(str(peer) for peer in rule.get("to", []))), port)
        for rule in policy["spec"]["egress"]
        for port in rule["ports"]
    ]


def test_production_egress_is_dns_mongodb_and_the_api_server_never_a_port_range_to_anywhere() -> (
    None
):
    manifests = helm_template(*PRODUCTION)
    for name in ("command", "query", "projector"):
        policy = find(manifests, "NetworkPolicy", f"microblog-{name}")
        for peers, port in egress_ports(policy):
            assert "endPort" not in port or peers, (name, port)
            assert peers or port == {"protocol": "TCP", "port": 27017}, (name, port)
    projector = find(manifests, "NetworkPolicy", "microblog-projector")
    assert (("{'ipBlock': {'cidr': '10.100.0.1/32'}}",), {"protocol": "TCP", "port": 443}) in (
        egress_ports(projector)
    )
    # Atlas over PrivateLink still works: its port range, to the endpoint's address only.
    private_link = helm_template(
        *PRODUCTION,
        *("--set", "networkPolicy.externalMongoDB.cidrs={192.168.100.25/32}"),
        *("--set", "networkPolicy.externalMongoDB.ports[0].port=1024"),
        *("--set", "networkPolicy.externalMongoDB.ports[0].endPort=65535"),
    )
    query = find(private_link, "NetworkPolicy", "microblog-query")
    assert (
        ("{'ipBlock': {'cidr': '192.168.100.25/32'}}",),
        {"protocol": "TCP", "port": 1024, "endPort": 65535},
    ) in egress_ports(query)
    refused = helm_template_error(
        *PRODUCTION,
        *("--set", "networkPolicy.externalMongoDB.ports[0].port=1024"),
        *("--set", "networkPolicy.externalMongoDB.ports[0].endPort=65535"),
    )
    assert "no cidrs" in refused


def test_on_cilium_the_projector_reaches_the_api_server_as_the_kube_apiserver_entity() -> None:
    cilium = helm_template(*PRODUCTION, "--set", "networkPolicy.kubeAPIServer.policy=cilium")
    (policy,) = [m for m in cilium if m["kind"] == "CiliumNetworkPolicy"]
    assert policy["apiVersion"] == "cilium.io/v2"
    assert policy["spec"]["endpointSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "microblog",
        "app.kubernetes.io/instance": "microblog",
        "app.kubernetes.io/component": "projector",
    }
    assert policy["spec"]["egress"] == [
        {
            "toEntities": ["kube-apiserver"],
            "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}],
        }
    ]
    # The ipBlock rule, which Cilium never matches for the API server, is gone.
    projector = find(cilium, "NetworkPolicy", "microblog-projector")
    assert {"protocol": "TCP", "port": 443} not in [port for _, port in egress_ports(projector)]
    # Rendered only when chosen, and only for a projector that elects itself.
    assert not [m for m in helm_template(*PRODUCTION) if m["kind"] == "CiliumNetworkPolicy"]
    unelected = helm_template("--set", "networkPolicy.kubeAPIServer.policy=cilium")
    assert not [m for m in unelected if m["kind"] == "CiliumNetworkPolicy"]


def test_behind_the_production_edge_rate_limits_see_the_client_not_the_proxy() -> None:
    trusted = find(helm_template(*PRODUCTION), "ConfigMap", "microblog-config")["data"][
        "TRUSTED_PROXIES"
    ]
    # An Envoy proxy pod (a VPC address on EKS) forwards the client's address, which it appended
    # to whatever the client itself claimed.
    forwarded = HTTPConnection(
        {
            "type": "http",
            "client": ("192.168.37.4", 41234),
            "headers": [(b"x-forwarded-for", b"198.51.100.1, 203.0.113.9")],
        }
    )
    assert client_ip(forwarded, trusted) == "203.0.113.9"
    # Anyone else's claim is not believed.
    direct = HTTPConnection(
        {
            "type": "http",
            "client": ("203.0.113.66", 41234),
            "headers": [(b"x-forwarded-for", b"198.51.100.1")],
        }
    )
    assert client_ip(direct, trusted) == "203.0.113.66"


def test_production_routes_through_the_gateway_api_and_lets_only_its_proxies_in() -> None:
    manifests = helm_template(*PRODUCTION)
    assert not names(manifests, "Ingress")
    route = find(manifests, "HTTPRoute", "microblog")
    assert route["spec"]["parentRefs"][0]["name"] == "public"
    policy = find(manifests, "NetworkPolicy", "microblog-command")
    edge = policy["spec"]["ingress"][0]["from"][0]
    assert edge["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "envoy-gateway-system"
    }
    assert (
        edge["podSelector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-name"] == "public"
    )
    # Minikube keeps the Ingress its addon provides.
    assert names(helm_template("-f", str(CHART / "values-minikube.yaml")), "Ingress") == {
        "microblog"
    }


def test_mongodb_volume_ownership_and_api_pre_stop_use_what_the_minimum_kubernetes_allows() -> None:
    manifests = helm_template()
    mongodb = find(manifests, "StatefulSet", "microblog-mongodb")["spec"]["template"]["spec"]
    assert mongodb["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"
    for name in ("command", "query"):
        pre_stop = container(find(manifests, "Deployment", f"microblog-{name}"), name)["lifecycle"][
            "preStop"
        ]
        assert pre_stop == {"sleep": {"seconds": 5}}
    # The sleep action is on by default from 1.30; the chart's minimum is what k8s-check validates.
    chart = (CHART / "Chart.yaml").read_text()
    oldest = re.search(r"K8S_VERSIONS=\(([0-9.]+)", (ROOT / "scripts" / "k8s-check.sh").read_text())
    assert oldest
    assert f'kubeVersion: ">={oldest.group(1)}-0"' in chart


def test_read_models_may_live_in_their_own_database_or_replica_set() -> None:
    default = find(helm_template(), "ConfigMap", "microblog-config")["data"]
    assert "READ_MODEL_MONGODB_DATABASE" not in default

    apart = helm_template(
        "--set",
        "config.readModelDatabase=microblog_read",
        "--set",
        "readModels.uri=mongodb://read-rs:27017/?replicaSet=read",
    )
    assert find(apart, "ConfigMap", "microblog-config")["data"]["READ_MODEL_MONGODB_DATABASE"] == (
        "microblog_read"
    )
    stored = find(apart, "Secret", "microblog")["data"]["READ_MODEL_MONGODB_URI"]
    assert base64.b64decode(stored).decode() == "mongodb://read-rs:27017/?replicaSet=read"
    # Moving the read models rolls the pods.
    assert (
        pod_annotations(apart, "microblog-command")["checksum/secret"]
        != pod_annotations(helm_template(), "microblog-command")["checksum/secret"]
    )
    refused = helm_template_error(
        "--set", "secret.existingSecret=mine", "--set", "readModels.uri=mongodb://read-rs:27017"
    )
    assert "put READ_MODEL_MONGODB_URI in that Secret" in refused


def test_with_leader_election_replicas_share_one_lease_and_only_it() -> None:
    manifests = helm_template(
        "--set", "projector.leaderElection.enabled=true", "--set", "projector.replicaCount=2"
    )
    projector = find(manifests, "Deployment", "microblog-projector")
    env = {
        e["name"]: e.get("value")
        for e in projector["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["PROJECTOR_LEADER_ELECTION"] == "kubernetes"
    assert env["PROJECTOR_LEASE_NAME"] == "microblog-projector"
    assert (env["PROJECTOR_LEASE_SECONDS"], env["PROJECTOR_LEASE_RENEW_SECONDS"]) == ("15", "5")
    rules = find(manifests, "Role", "microblog-projector")["rules"]
    assert {
        "verbs": ["create"],
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
    } in rules
    named = [rule for rule in rules if rule.get("resourceNames")]
    assert named == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["microblog-projector"],
            "verbs": ["get", "update"],
        }
    ]
    assert (
        find(manifests, "PodDisruptionBudget", "microblog-projector")["spec"]["maxUnavailable"] == 1
    )
    assert projector["spec"]["strategy"]["type"] == "RollingUpdate"

    single = find(helm_template(), "Deployment", "microblog-projector")
    single_env = single["spec"]["template"]["spec"]["containers"][0].get("env", [])
    assert "PROJECTOR_LEADER_ELECTION" not in {e["name"] for e in single_env}
    assert "renewSeconds must be under half" in helm_template_error(
        "--set",
        "projector.leaderElection.enabled=true",
        "--set",
        "projector.leaderElection.renewSeconds=8",
    )


def test_the_hardening_settings_follow_the_command_pods_memory_and_the_edge() -> None:
    config = find(helm_template(), "ConfigMap", "microblog-config")["data"]
    assert config["PASSWORD_HASH_MEMORY_BUDGET_MIB"] == "384"  # half of the 768Mi limit
    assert config["JWT_TTL_SECONDS"] == "900"
    assert config["RATE_LIMITS_ENABLED"] == "true"
    assert config["TRUSTED_PROXIES"] == ""  # nobody's X-Forwarded-For is believed by default
    bigger = helm_template("--set", "command.resources.limits.memory=2Gi")
    assert (
        find(bigger, "ConfigMap", "microblog-config")["data"]["PASSWORD_HASH_MEMORY_BUDGET_MIB"]
        == "1024"
    )
    minikube = helm_template("-f", str(CHART / "values-minikube.yaml"))
    assert (
        find(minikube, "ConfigMap", "microblog-config")["data"]["TRUSTED_PROXIES"]
        == "10.244.0.0/16"
    )
    policy = find(helm_template(), "NetworkPolicy", "microblog-projector")
    assert "ingress" not in policy["spec"]  # only the kubelet, unless a scraper is named


def test_the_chart_secret_holds_a_consistency_key_and_a_previous_one_while_rotating() -> None:
    generated = find(helm_template(), "Secret", "microblog")["data"]
    assert len(base64.b64decode(generated["CONSISTENCY_SECRET"])) >= 32
    assert "CONSISTENCY_PREVIOUS_SECRET" not in generated

    new, old = "n" * 40, "o" * 40
    rotating = helm_template(
        "--set",
        f"secret.consistencySecret={new}",
        "--set",
        f"secret.consistencyPreviousSecret={old}",
    )
    data = find(rotating, "Secret", "microblog")["data"]
    assert base64.b64decode(data["CONSISTENCY_SECRET"]).decode() == new
    assert base64.b64decode(data["CONSISTENCY_PREVIOUS_SECRET"]).decode() == old
    # A rotation restarts the pods: the checksum covers both keys.
    before = pod_annotations(helm_template(), "microblog-query")["checksum/secret"]
    assert pod_annotations(rotating, "microblog-query")["checksum/secret"] != before
    refused = helm_template_error("--set", f"secret.consistencyPreviousSecret={old}")
    assert "consistencyPreviousSecret needs secret.consistencySecret" in refused


def test_the_default_edge_is_a_gateway_api_route_and_an_ingress_needs_a_named_class() -> None:
    manifests = helm_template()
    assert names(manifests, "HTTPRoute") == {"microblog"}
    assert not names(manifests, "Ingress")
    edge = find(manifests, "NetworkPolicy", "microblog-query")["spec"]["ingress"][0]["from"][0]
    assert edge["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "envoy-gateway-system"
    }
    assert "needs ingress.className" in helm_template_error("--set", "ingress.enabled=true")
    named = helm_template("--set", "ingress.enabled=true", "--set", "ingress.className=traefik")
    assert find(named, "Ingress", "microblog")["spec"]["ingressClassName"] == "traefik"
    # Minikube keeps its ingress addon, and admits that controller's pods.
    minikube = helm_template("-f", str(CHART / "values-minikube.yaml"))
    assert not names(minikube, "HTTPRoute")
    assert find(minikube, "Ingress", "microblog")["spec"]["ingressClassName"] == "nginx"
    edge = find(minikube, "NetworkPolicy", "microblog-query")["spec"]["ingress"][0]["from"][0]
    assert edge["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "ingress-nginx"}


def route_timeouts(*args: str) -> set[str]:
    route = find(helm_template(*args), "HTTPRoute", "microblog")
    return {rule["timeouts"]["request"] for rule in route["spec"]["rules"]}


def test_every_route_outlasts_the_longest_consistency_wait() -> None:
    assert route_timeouts() == {"17s"}  # the 2000 ms wait, rounded up, plus 15 s
    assert route_timeouts("--set", "config.consistencyWaitMs=30000") == {"45s"}
    assert route_timeouts("--set", "httpRoute.requestTimeoutSeconds=60") == {"60s"}
    refused = helm_template_error(
        *("--set", "config.consistencyWaitMs=10000"),
        *("--set", "httpRoute.requestTimeoutSeconds=12"),
    )
    assert "must be at least config.consistencyWaitMs" in refused
