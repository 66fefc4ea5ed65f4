"""The e2e workflow's load test can drive the command HPA: its sign-ins stay under every rate
limit that would otherwise answer most of them with a cheap 429 (read from the chart's values and
the values the workflow adds), and there are enough of them to keep Argon2 busy."""

import re
from typing import Any

import yaml

from tests.deploy.chart import CHART, ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "e2e.yml"
PER = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def per_second(limit: str) -> float:
    count, period = re.fullmatch(r"(\d+) ?/ ?(second|minute|hour|day)", limit).groups()  # type: ignore[union-attr]
    return int(count) / PER[period]


def step(name_start: str) -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (found,) = [s for s in workflow["jobs"]["e2e"]["steps"] if s["name"].startswith(name_start)]
    return found  # type: ignore[no-any-return]


def e2e_limits() -> dict[str, str]:
    """The chart's default rate limits with the workflow's extra values file applied."""
    limits: dict[str, str] = yaml.safe_load((CHART / "values.yaml").read_text())["config"][
        "rateLimits"
    ]
    extra = re.search(r"printf '%s\\n' (.*?) >\"\$EXTRA_VALUES\"", step("Minikube up")["run"])
    assert extra, "the Minikube step writes no extra values"
    lines = [line.strip("'") for line in re.findall(r"'[^']*'", extra.group(1))]
    overrides = yaml.safe_load("\n".join(lines))["config"]["rateLimits"]
    return {**limits, **overrides}


def test_the_sign_in_load_spreads_over_handles_and_stays_under_every_limit() -> None:
    run = step("Bounded load test")["run"]
    handles = int(re.search(r"^\s*handles=(\d+)$", run, re.M).group(1))  # type: ignore[union-attr]
    (sign_in,) = [
        line for line in run.splitlines() if "hey " in line and "-m POST" in line
    ]  # one hey per handle, in a loop over the handles
    workers, rate = re.search(r"-c (\d+) -q ([0-9.]+)", sign_in).groups()  # type: ignore[union-attr]
    per_handle = int(workers) * float(rate)
    assert "load_${run_id}_$i" in run.split(sign_in, 1)[1].split("\n", 2)[1]
    limits = e2e_limits()
    assert per_handle < per_second(limits["signInPerHandle"])
    assert handles * per_handle <= per_second(limits["signInPerIp"])
    # Enough Argon2 work to push the command pods over their CPU target: at least one sign-in a
    # second (0.1-0.3 CPU-seconds each, against 100m requested per pod).
    assert handles * per_handle >= 1
    # Every account signs up from the same runner: smoke (3), Postman and these.
    assert handles + 3 + 20 <= per_second(limits["signUpPerIp"]) * 3600
