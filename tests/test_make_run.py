"""`make run`'s process, started for real: the README's curl tour must pass against it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.test_gateway import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_the_gateway_process_passes_the_curl_tour_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if key not in ("MONGODB_URI", "JWT_SECRET")
    }
    env |= {
        "GATEWAY_PORT": str(port),
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
    }
    log = (tmp_path / "gateway.log").open("w")
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()["projector"]
                    == "following"
                ):
                    break
            except httpx.HTTPError:
                pass
            assert gateway.poll() is None, (tmp_path / "gateway.log").read_text()
            assert time.monotonic() < deadline, "the gateway did not become healthy in 30 s"
            time.sleep(0.1)

        tour = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
            ["/bin/bash", "scripts/smoke.sh", f"http://127.0.0.1:{port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert tour.returncode == 0, tour.stdout + tour.stderr
        assert "smoke: OK" in tour.stdout
    finally:
        gateway.send_signal(signal.SIGTERM)
        exit_code = gateway.wait(timeout=30)
        log.close()
    output = (tmp_path / "gateway.log").read_text()
    # uvicorn re-raises the SIGTERM it handled once shutdown is complete.
    assert exit_code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
    # Every line is one JSON object, uvicorn's included; each request is logged once, by the
    # request's own line (uvicorn's access log is off).
    lines = [json.loads(line) for line in output.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    requests = [line for line in lines if line["message"] == "request"]
    assert len(requests) >= 10  # the tour's (the health polls above log at DEBUG)
    assert len({line["request_id"] for line in requests}) == len(requests)
    assert {line["service"] for line in requests} == {"command", "query"}
    # The projector's batch lines name the requests whose writes they applied.
    applied = {id for line in lines if line["message"] == "batch" for id in line["request_ids"]}
    commands = {line["request_id"] for line in requests if line["service"] == "command"}
    assert applied
    assert applied <= commands
