"""The mixed workload (60% home timeline, 30% user timeline, 10% compose) against any base URL.

    python -m benchmarks.mixed --base-url URL --seed-users N [--seed 1] [--seconds 30]

It signs in `--readers` (50) accounts of a graph seeded with `make seed USERS=N SEED=S` (their
handles follow from N and S, their password is the demo one), writes their tokens to a file and
runs `benchmarks/wrk/mixed.lua` with `--connections` (50) for `--seconds`. Sign-ins honour the
stack's 429 and 503 answers (`Retry-After`), so it also works through an Ingress with the
production limits, only slower. `make bench` runs the same function against its own stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import run_wrk
from benchmarks.seed.graph import SeedUser, seed_users
from benchmarks.seed.targets import DEMO_PASSWORD, RETRIED

READERS = 50
SIGN_IN_WAIT_SECONDS = 600.0  # at most this long waiting for rate limits, in all


def readers_of(users: list[SeedUser], count: int = READERS) -> list[str]:
    """Every (len / count)-th account in plan order, so the readers spread over the ranking."""
    step = max(1, len(users) // count)
    return [user.handle for user in users[::step][:count]]


async def sign_in_all(
    client: httpx.AsyncClient, handles: list[str], *, concurrency: int = 4
) -> dict[str, str]:
    """Each handle's access token (the demo password), waiting out rate limits as told."""
    slots = asyncio.Semaphore(concurrency)
    waited = 0.0

    async def sign_in(handle: str) -> tuple[str, str]:
        nonlocal waited
        async with slots:
            while True:
                answer = await client.post(
                    "/command/v1/sessions", json={"handle": handle, "password": DEMO_PASSWORD}
                )
                if answer.status_code not in RETRIED:
                    break
                pause = float(answer.headers.get("Retry-After", "1"))
                waited += pause
                if waited > SIGN_IN_WAIT_SECONDS:
                    raise RuntimeError(f"signing in waited over {SIGN_IN_WAIT_SECONDS:.0f} s")
                await asyncio.sleep(pause)
        if answer.status_code != 200:
            raise RuntimeError(f"sign-in as {handle} answered {answer.status_code}: {answer.text}")
        return handle, str(answer.json()["access_token"])

    return dict(await asyncio.gather(*(sign_in(handle) for handle in handles)))


def run_mixed(
    base_url: str, tokens: dict[str, str], *, seconds: float, connections: int = READERS
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        users = Path(folder) / "users.txt"
        users.write_text("".join(f"{handle} {token}\n" for handle, token in tokens.items()))
        report = run_wrk(
            base_url,
            "mixed.lua",
            seconds=seconds,
            connections=connections,
            env={"MIXED_USERS": str(users)},
        )
    return report | {"users": len(tokens), "connections": connections}


async def prepare(base_url: str, handles: list[str]) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        return await sign_in_all(client, handles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--seed-users", type=int, required=True, help="USERS of the seeded graph")
    parser.add_argument("--seed", type=int, default=1, help="SEED of the seeded graph")
    parser.add_argument("--readers", type=int, default=READERS)
    parser.add_argument("--connections", type=int, default=READERS)
    parser.add_argument("--seconds", type=float, default=30.0)
    arguments = parser.parse_args()
    if not 1 <= arguments.seconds <= 600 or not 1 <= arguments.connections <= 1000:
        parser.error("--seconds is 1 to 600 and --connections 1 to 1000 (a bounded load)")
    handles = readers_of(seed_users(arguments.seed_users, arguments.seed), arguments.readers)
    tokens = asyncio.run(prepare(arguments.base_url, handles))
    report = run_mixed(
        arguments.base_url, tokens, seconds=arguments.seconds, connections=arguments.connections
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
