"""Running wrk with one of `benchmarks/wrk/*.lua` and reading the figures its report prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent / "wrk"
MARK = "BENCH_JSON "


class LoadFailed(Exception):
    pass


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise LoadFailed("wrk is not installed (Debian: apt-get install wrk; `make bench` does it)")
    return found


def run_wrk(
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One bounded wrk run (`seconds`, then a 10 s request timeout at most); its report as a dict."""
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPTS / script),
        url,
    ]
    finished = subprocess.run(  # noqa: S603 (wrk with our own arguments)
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        env=os.environ | (env or {}),
        check=False,
    )
    for line in finished.stdout.splitlines():
        if line.startswith(MARK):
            return dict(json.loads(line[len(MARK) :]))
    raise LoadFailed(f"wrk printed no report: {finished.stdout[-500:]} {finished.stderr[-500:]}")
