"""The bundled replica set's reconciler (helm/microblog/files/mongodb-init.js), run by Node.js
against a fake replica set with the environment the chart gives it: it initiates a new set, grows
an existing one, and converges users."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import CHART, container, env, find, helm_template

SCRIPT = CHART / "files" / "mongodb-init.js"
FAKE = Path(__file__).with_name("fake_mongosh.js")
DOMAIN = "microblog-mongodb-headless.microblog.svc.cluster.local"


def fqdn(i: int) -> str:
    return f"microblog-mongodb-{i}.{DOMAIN}:27017"


def run_reconciler(
    tmp_path: Path, state: dict[str, Any], *chart_args: str, app_password: str = "a" * 32
) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "Node.js is needed (it also runs the Postman collection)"
    secrets = tmp_path / "secret"
    secrets.mkdir(exist_ok=True)
    (secrets / "root-password").write_text("r" * 32 + "\n")
    (secrets / "app-password").write_text(app_password + "\n")
    (tmp_path / "state.json").write_text(json.dumps(state))
    reconciler = find(helm_template(*chart_args), "Deployment", "microblog-mongodb-init")
    return subprocess.run(  # noqa: S603 (our own script and fake)
        [node, FAKE, SCRIPT, tmp_path / "state.json"],
        env={**env(container(reconciler, "init")), "MONGODB_SECRET_DIR": str(secrets)},
        capture_output=True,
        text=True,
    )


def reconcile(tmp_path: Path, state: dict[str, Any], *chart_args: str) -> dict[str, Any]:
    completed = run_reconciler(tmp_path, state, *chart_args)
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def members(count: int) -> tuple[str, str]:
    return ("--set", f"mongodb.replicaCount={count}")


def hosts(state: dict[str, Any]) -> list[str]:
    return [member["host"] for member in state["config"]["members"]]


def test_a_new_set_is_initiated_with_every_member_and_the_app_user(tmp_path: Path) -> None:
    state = reconcile(tmp_path, {"initiated": False, "users": {}}, *members(3))

    assert hosts(state) == [fqdn(0), fqdn(1), fqdn(2)]
    assert state["log"].count("replSetInitiate") == 1
    assert "replSetReconfig" not in state["log"]
    assert state["users"]["microblog"] == {"roles": [{"role": "readWrite", "db": "microblog"}]}


@pytest.mark.parametrize(
    "first_host", [fqdn(0), "microblog-mongodb-0.microblog-mongodb-headless:27017"]
)
def test_raising_the_member_count_adds_the_missing_members_one_reconfig_each(
    tmp_path: Path, first_host: str
) -> None:
    initiated = {
        "initiated": True,
        "config": {"_id": "rs0", "version": 1, "members": [{"_id": 0, "host": first_host}]},
        "users": {"microblog": {"roles": []}},
    }

    state = reconcile(tmp_path, initiated, *members(3))

    # The first member is recognised by its pod name whatever its host form: no duplicate.
    assert hosts(state) == [first_host, fqdn(1), fqdn(2)]
    assert [m["_id"] for m in state["config"]["members"]] == [0, 1, 2]
    assert state["log"].count("replSetReconfig") == 2
    assert "updateUser microblog" in state["log"]


def test_a_complete_set_is_left_as_it_is(tmp_path: Path) -> None:
    complete = {
        "initiated": True,
        "config": {
            "_id": "rs0",
            "version": 4,
            "members": [{"_id": i, "host": fqdn(i)} for i in range(3)],
        },
        "users": {},
    }

    state = reconcile(tmp_path, complete, *members(3))

    assert state["config"]["version"] == 4
    assert "replSetReconfig" not in state["log"]
    assert "replSetInitiate" not in state["log"]


def test_read_models_in_their_own_database_get_the_app_user_there_too(tmp_path: Path) -> None:
    apart = ("--set", "config.readModelDatabase=microblog_read")

    state = reconcile(tmp_path, {"initiated": False, "users": {}}, *apart)

    assert state["users"]["microblog"] == {
        "roles": [
            {"role": "readWrite", "db": "microblog"},
            {"role": "readWrite", "db": "microblog_read"},
        ]
    }
    # Moving them back converges the roles to the one database again (least privilege).
    again = reconcile(tmp_path, state)
    assert again["users"]["microblog"] == {"roles": [{"role": "readWrite", "db": "microblog"}]}


def test_read_models_on_another_replica_set_get_no_role_on_the_bundled_one(tmp_path: Path) -> None:
    elsewhere = (
        *("--set", "config.readModelDatabase=microblog_read"),
        *("--set", "readModels.uri=mongodb://read-rs:27017/?replicaSet=read"),
    )

    state = reconcile(tmp_path, {"initiated": False, "users": {}}, *elsewhere)

    assert state["users"]["microblog"] == {"roles": [{"role": "readWrite", "db": "microblog"}]}


@pytest.mark.parametrize("app_password", ["change-me", "REPLACEWITHRANDOMHEX2", "short0"])
def test_a_placeholder_or_short_app_password_creates_no_user(
    tmp_path: Path, app_password: str
) -> None:
    state = {"initiated": False, "users": {}}

    completed = run_reconciler(tmp_path, state, app_password=app_password)

    assert completed.returncode != 0
    assert "app-password must be at least 24 letters and digits" in completed.stderr
    assert "replSetInitiate" not in completed.stdout
