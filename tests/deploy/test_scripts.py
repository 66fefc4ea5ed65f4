"""The deployment scripts on a fake PATH: each external command is a stub that logs its arguments,
so a test sees exactly what a user's machine would be asked to run."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.chart import ROOT

# Real tools the scripts may use; everything else on PATH is a stub or absent.
SYSTEM_TOOLS = [
    *("bash", "sh", "env", "sed", "grep", "cat", "find", "sort", "cut", "seq"),
    *("dirname", "mktemp", "rm", "head", "tr", "wc", "sleep", "basename", "date"),
]
STUB = """#!/bin/sh
echo "{name} $*" >>"$FAKE_LOG"
{body}
"""
STUB_BODIES = {
    # minikube -p PROFILE <command>: not running yet, then an address.
    "minikube": """case "$3" in
  status) exit 1 ;;
  ip) echo 192.0.2.10 ;;
esac""",
    "helm": 'case "$1" in version) echo v3.16.2 ;; esac',
    "kubectl": 'case "$*" in *calico-node*) echo pod/calico-node-abcde ;; esac',
    # An answer from the application; with FAKE_CURL_NEEDS_TUNNEL=1 only once a tunnel was started.
    "curl": """if [ "${FAKE_CURL_NEEDS_TUNNEL:-}" = 1 ] && ! grep -q ' tunnel$' "$FAKE_LOG"; then
  printf text/html
else
  printf application/json
fi""",
    "uname": 'echo "${FAKE_UNAME:-Linux}"',
    # Logs the Dockerfile it is given; a push writes the image index's digest where it is asked to.
    "podman": """for a; do
  [ -n "$file" ] && { cat "$a" >>"$FAKE_LOG"; file=; }
  [ -n "$digestfile" ] && { echo "sha256:$(printf %064d 1)" >"$a"; digestfile=; }
  [ "$a" = -f ] && file=1
  [ "$a" = --digestfile ] && digestfile=1
done; :""",
    "docker": """for a; do
  [ -n "$meta" ] && { printf '{"containerimage.digest": "sha256:%064d"}' 2 >"$a"; meta=; }
  [ "$a" = --metadata-file ] && meta=1
done; :""",
    "npm": "exit 97",
    "python3": "exit 97",
}


class FakeMachine:
    def __init__(self, root: Path, commands: list[str]) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "commands.log"
        self.log.touch()
        for tool in SYSTEM_TOOLS:
            found = shutil.which(tool)
            assert found, f"{tool} is needed to run the scripts"
            (self.bin / tool).symlink_to(found)
        # Linux has sha256sum, macOS shasum; the scripts take either.
        checksum = next(filter(None, map(shutil.which, ("sha256sum", "shasum"))), None)
        assert checksum, "sha256sum or shasum is needed to run the scripts"
        (self.bin / Path(checksum).name).symlink_to(checksum)
        for name in commands:
            (self.bin / name).write_text(STUB.format(name=name, body=STUB_BODIES[name]))
            (self.bin / name).chmod(0o755)

    def run(self, *command: str, **environment: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": str(self.bin), "FAKE_LOG": str(self.log), "HOME": str(self.bin.parent)}
        return subprocess.run(  # noqa: S603 (our own scripts)
            [str(ROOT / c) if c.startswith("scripts/") else c for c in command],
            env={**env, **environment},
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )

    def commands(self) -> list[str]:
        return self.log.read_text().splitlines()


@pytest.fixture
def machine(tmp_path: Path) -> FakeMachine:
    return FakeMachine(tmp_path, ["minikube", "helm", "kubectl", "curl", "npm", "python3", "uname"])


def test_minikube_up_uses_the_users_tools_calico_and_images_built_in_minikube(
    machine: FakeMachine,
) -> None:
    result = machine.run("scripts/minikube-up.sh", SKIP_SMOKE="1")

    assert result.returncode == 0, result.stderr
    log = machine.commands()
    assert not [c for c in log if c.startswith(("npm", "python3"))]
    assert ".tools" not in "\n".join(log)
    (start,) = [c for c in log if c.startswith("minikube start")]
    assert "--cni=calico" in start
    builds = [c for c in log if " image build " in c]
    tags = {re.search(r"-t microblog-(command|query):(\S+)", c).groups() for c in builds}  # type: ignore[union-attr]
    assert {target for target, _ in tags} == {"command", "query"}
    (tag,) = {tag for _, tag in tags}
    assert all(
        f"--build-opt=target={t}" in c for c in builds for t, _ in tags if f"microblog-{t}:" in c
    )
    (install,) = [c for c in log if c.startswith("helm upgrade --install")]
    assert f"image.tag={tag}" in install
    assert "values-minikube.yaml" in install


def minikube_profile(machine: FakeMachine, driver: str) -> None:
    """What `minikube start --driver=DRIVER` records about the profile."""
    profile = machine.bin.parent / ".minikube" / "profiles" / "minikube"
    profile.mkdir(parents=True)
    (profile / "config.json").write_text(
        f'{{\n    "Name": "minikube",\n    "Driver": "{driver}",\n}}\n'
    )


def probes(machine: FakeMachine) -> set[str]:
    return {c.split()[-1] for c in machine.commands() if c.startswith("curl")}


@pytest.mark.parametrize(("os", "driver"), [("Darwin", "docker"), ("MINGW64_NT-10.0", "podman")])
def test_minikube_up_reaches_a_container_node_on_macos_and_windows_through_a_tunnel(
    machine: FakeMachine, os: str, driver: str
) -> None:
    minikube_profile(machine, driver)

    result = machine.run(
        "scripts/minikube-up.sh", SKIP_SMOKE="1", FAKE_UNAME=os, FAKE_CURL_NEEDS_TUNNEL="1"
    )

    assert result.returncode == 0, result.stderr
    log = machine.commands()
    assert "minikube -p minikube tunnel" in log
    assert "minikube -p minikube ip" not in log
    assert probes(machine) == {"http://127.0.0.1/query/v1/users/route_probe"}
    assert "microblog is up: http://127.0.0.1" in result.stdout


@pytest.mark.parametrize(("os", "driver"), [("Linux", "docker"), ("Darwin", "qemu2")])
def test_minikube_up_uses_the_node_address_where_this_machine_reaches_it(
    machine: FakeMachine, os: str, driver: str
) -> None:
    minikube_profile(machine, driver)

    result = machine.run("scripts/minikube-up.sh", SKIP_SMOKE="1", FAKE_UNAME=os)

    assert result.returncode == 0, result.stderr
    assert "minikube -p minikube tunnel" not in machine.commands()
    assert probes(machine) == {"http://192.0.2.10/query/v1/users/route_probe"}


def test_minikube_up_takes_a_base_url_override(machine: FakeMachine) -> None:
    minikube_profile(machine, "docker")

    result = machine.run(
        "scripts/minikube-up.sh",
        SKIP_SMOKE="1",
        FAKE_UNAME="Darwin",
        BASE_URL="http://127.0.0.1:18080/",
    )

    assert result.returncode == 0, result.stderr
    log = machine.commands()
    assert "minikube -p minikube tunnel" not in log
    assert "minikube -p minikube ip" not in log
    assert probes(machine) == {"http://127.0.0.1:18080/query/v1/users/route_probe"}


def test_minikube_up_tells_what_to_install_when_helm_is_missing(machine: FakeMachine) -> None:
    (machine.bin / "helm").unlink()

    result = machine.run("scripts/minikube-up.sh", SKIP_SMOKE="1")

    assert result.returncode != 0
    assert "https://helm.sh/docs/intro/install/" in result.stderr
    assert not [c for c in machine.commands() if c.startswith("minikube start")]


def test_minikube_up_falls_back_to_minikube_kubectl(machine: FakeMachine) -> None:
    (machine.bin / "kubectl").unlink()

    result = machine.run("scripts/minikube-up.sh", SKIP_SMOKE="1")

    assert result.returncode == 0, result.stderr
    assert any(
        "kubectl -- --context minikube" in c and "rollout status" in c for c in machine.commands()
    )


def test_make_images_builds_both_targets_with_podman_when_docker_is_absent(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, ["podman"])

    result = machine.run("scripts/build-images.sh", IMAGE_TAG="1.2.3")

    assert result.returncode == 0, result.stderr
    builds = [c for c in machine.commands() if c.startswith("podman build")]
    assert [re.search(r"--target (\w+) -t (\S+)", c).groups() for c in builds] == [  # type: ignore[union-attr]
        ("command", "microblog-command:1.2.3"),
        ("query", "microblog-query:1.2.3"),
    ]


def test_make_images_prefers_docker_when_both_are_installed(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, ["docker", "podman"])

    result = machine.run("scripts/build-images.sh")

    assert result.returncode == 0, result.stderr
    engines = {c.split()[0] for c in machine.commands() if " build " in f" {c} "}
    assert engines == {"docker"}


def test_a_release_build_pins_the_base_image_by_digest(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, ["podman"])

    refused = machine.run("scripts/build-images.sh", "--release")
    assert refused.returncode != 0
    assert "BASE_IMAGE_DIGEST" in refused.stderr

    digest = "sha256:" + "ab" * 32
    result = machine.run(
        "scripts/build-images.sh", "--release", BASE_IMAGE_DIGEST=digest, IMAGE_REGISTRY="r.example"
    )
    assert result.returncode == 0, result.stderr
    base = re.search(r"^FROM (\S+) AS python-base$", (ROOT / "Dockerfile").read_text(), re.M)
    assert base
    pinned = [line for line in machine.commands() if line.endswith("AS python-base")]
    assert pinned == [f"FROM {base.group(1)}@{digest} AS python-base"] * 2


@pytest.mark.parametrize(
    "base_url",
    ["https://microblog.example.com", "http://192.168.49.2", "http://127.0.0.1.example.com"],
)
def test_smoke_refuses_a_stack_that_is_not_this_machine_unless_told(
    machine: FakeMachine, base_url: str
) -> None:
    refused = machine.run("scripts/smoke.sh", base_url)

    assert refused.returncode == 2
    assert "--allow-remote" in refused.stderr
    assert not [c for c in machine.commands() if c.startswith("curl")]

    allowed = machine.run("scripts/smoke.sh", "--allow-remote", base_url)
    (first, *_) = [c for c in machine.commands() if c.startswith("curl")]
    assert f"{base_url}/command/v1/users" in first
    assert "refusing" not in allowed.stderr


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"]
)
def test_smoke_runs_against_this_machine_as_it_is(machine: FakeMachine, base_url: str) -> None:
    machine.run("scripts/smoke.sh", base_url)

    (first, *_) = [c for c in machine.commands() if c.startswith("curl")]
    assert f"{base_url}/command/v1/users" in first


RELEASE = {
    "BASE_IMAGE_DIGEST": "sha256:" + "ab" * 32,
    "IMAGE_REGISTRY": "r.example/team/",
    "IMAGE_TAG": "1.2.3",
}


def test_a_release_is_one_multi_arch_index_per_image_pushed_with_buildx(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, ["docker"])

    result = machine.run("scripts/build-images.sh", "--release", **RELEASE)

    assert result.returncode == 0, result.stderr
    builds = [c for c in machine.commands() if c.startswith("docker buildx build")]
    assert len(builds) == 2
    for build, target in zip(builds, ("command", "query"), strict=True):
        assert "--platform linux/amd64,linux/arm64" in build
        assert f"--target {target} -t r.example/team/microblog-{target}:1.2.3" in build
        assert "--push" in build
    # The digests of the indexes, for the chart's image.*.digest, and nothing else on stdout.
    assert result.stdout.split() == [
        "COMMAND_DIGEST=sha256:" + "0" * 63 + "2",
        "QUERY_DIGEST=sha256:" + "0" * 63 + "2",
    ]


def test_a_podman_release_builds_a_manifest_list_and_pushes_all_of_it(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, ["podman"])

    result = machine.run("scripts/build-images.sh", "--release", PLATFORMS="linux/amd64", **RELEASE)

    assert result.returncode == 0, result.stderr
    log = machine.commands()
    (build,) = [c for c in log if c.startswith("podman build") and "--target query" in c]
    assert "--platform linux/amd64" in build
    assert "--manifest r.example/team/microblog-query:1.2.3" in build
    (push,) = [c for c in log if c.startswith("podman manifest push") and "query" in c]
    assert "--all" in push
    assert push.endswith("docker://r.example/team/microblog-query:1.2.3")
    assert "QUERY_DIGEST=sha256:" + "0" * 63 + "1" in result.stdout.split()


def test_a_release_needs_a_registry_and_a_local_build_one_platform(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, ["docker"])

    unregistered = machine.run(
        "scripts/build-images.sh", "--release", BASE_IMAGE_DIGEST=RELEASE["BASE_IMAGE_DIGEST"]
    )
    assert unregistered.returncode != 0
    assert "IMAGE_REGISTRY" in unregistered.stderr
    two = machine.run("scripts/build-images.sh", PLATFORMS="linux/amd64,linux/arm64")
    assert two.returncode != 0
    assert "--release" in two.stderr
    assert not [c for c in machine.commands() if " build " in f" {c} "]

    # An x86 image from an Apple-silicon Mac.
    one = machine.run("scripts/build-images.sh", PLATFORMS="linux/amd64")
    assert one.returncode == 0, one.stderr
    builds = [c for c in machine.commands() if c.startswith("docker build")]
    assert len(builds) == 2
    assert all("--platform linux/amd64" in c for c in builds)
