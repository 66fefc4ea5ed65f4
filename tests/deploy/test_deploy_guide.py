"""docs/deploy-ec2.md agrees with itself and with values-production.yaml: the manifests it has you
apply are read from its code blocks, and what the chart's production values assume (the VPC, the
Service CIDR, an edge that keeps the client's address, a default StorageClass) is what they make."""

import ipaddress
import json
import re
from functools import cache
from typing import Any

import yaml

from tests.deploy.chart import CHART, ROOT, find, helm_template

GUIDE = ROOT / "docs" / "deploy-ec2.md"
PRODUCTION = ("-f", str(CHART / "values-production.yaml"))


@cache
def guide_manifests() -> list[dict[str, Any]]:
    """Every YAML document of the guide: ```yaml blocks and the heredocs of its ```sh blocks."""
    text = GUIDE.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    for shell in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        blocks += re.findall(r"<<'?EOF'?\n(.*?)\nEOF\n", shell, re.DOTALL)
    # The cluster config interpolates shell variables; give them example values.
    blocks = [
        b.replace("$CLUSTER", "microblog").replace("${AWS_REGION}", "eu-west-1") for b in blocks
    ]
    blocks = [b.replace("$AWS_REGION", "eu-west-1") for b in blocks]
    return [doc for block in blocks for doc in yaml.safe_load_all(block) if isinstance(doc, dict)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in guide_manifests() if doc.get("kind") == kind]


def production_config() -> dict[str, str]:
    data: dict[str, str] = find(helm_template(*PRODUCTION), "ConfigMap", "microblog-config")["data"]
    return data


def test_the_guide_gives_a_new_eks_cluster_a_default_gp3_class_that_binds_in_the_pods_zone() -> (
    None
):
    (cluster,) = of_kind("ClusterConfig")
    addons = {addon["name"]: addon for addon in cluster["addons"]}
    assert addons["aws-ebs-csi-driver"]["wellKnownPolicies"] == {"ebsCSIController": True}
    (storage_class,) = of_kind("StorageClass")
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"]["type"] == "gp3"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    annotations = storage_class["metadata"]["annotations"]
    assert annotations["storageclass.kubernetes.io/is-default-class"] == "true"


def test_the_chart_says_its_volumes_cannot_change_in_place() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    persistence = schema["properties"]["mongodb"]["properties"]["persistence"]
    for described in (persistence, *persistence["properties"].values()):
        assert "immutable" in described["description"]
        assert "helm upgrade fail" in described["description"]


def test_the_edge_keeps_the_client_address_and_the_pods_trust_only_the_vpc_it_comes_through() -> (
    None
):
    (cluster,) = of_kind("ClusterConfig")
    service_accounts = [
        account["metadata"]["name"] for account in cluster["iam"]["serviceAccounts"]
    ]
    assert "aws-load-balancer-controller" in service_accounts
    (proxy,) = of_kind("EnvoyProxy")
    service = proxy["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"]
    assert service["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert (
        service["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"]
        == "preserve_client_ip.enabled=true"
    )
    (gateway,) = of_kind("Gateway")
    assert gateway["spec"]["infrastructure"]["parametersRef"]["name"] == proxy["metadata"]["name"]
    # The Envoy pods get VPC addresses: the VPC is exactly what the pods trust.
    assert production_config()["TRUSTED_PROXIES"] == cluster["vpc"]["cidr"]


def test_the_projectors_api_server_rule_names_the_kubernetes_service_of_that_cluster() -> None:
    (cluster,) = of_kind("ClusterConfig")
    services = ipaddress.ip_network(cluster["kubernetesNetworkConfig"]["serviceIPv4CIDR"])
    kubernetes_service = next(services.hosts())  # the first address: the `kubernetes` Service
    projector = find(helm_template(*PRODUCTION), "NetworkPolicy", "microblog-projector")
    rules = [
        rule
        for rule in projector["spec"]["egress"]
        if {"protocol": "TCP", "port": 443} in rule["ports"]
    ]
    assert [peer["ipBlock"]["cidr"] for rule in rules for peer in rule["to"]] == [
        f"{kubernetes_service}/32"
    ]
    # The VPC CNI's network policy agent, which filters before the Service address is translated.
    addons = {addon["name"]: addon for addon in cluster["addons"]}
    assert json.loads(addons["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
