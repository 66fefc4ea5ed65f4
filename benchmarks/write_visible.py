"""Write→visible latency as the projector measures it: `microblog_projector_write_to_visible_seconds`.

    python -m benchmarks.write_visible [--base-url URL] [--posts 300] [--rate 30]
                                       [--authors 5] [--followers 40] [--out FILE]

Without `--base-url` it starts `python -m gateway` on the embedded store on a free 127.0.0.1 port
(cheap Argon2 and relaxed limits: the figure is the projector's, not the sign-ins'), and stops it
afterwards. It signs up `--authors` accounts, each followed by `--followers` others, then writes
`--posts` posts spread over the authors at a fixed `--rate` a second (an open loop: the schedule
does not wait for answers), waits until the projector has applied every one of them (its
histogram counts them and its lag is 0), and reads the histogram from `/metrics` before and after
the posts. The result, JSON on stdout (and in `--out`), is the difference: per change type, the
count, the mean and the p50/p90/p99 interpolated within the buckets as Prometheus'
`histogram_quantile` does, and the buckets themselves. Each post is timed from its commit
(`wallTime`) to the end of its projection, its fan-out to the author's followers included.

Bounded: at most `--posts` writes, and it gives up `--settle-seconds` after the last one.
`make bench` runs it as a companion when it is listed there (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
HISTOGRAM = "microblog_projector_write_to_visible_seconds"
PASSWORD = "write-visible-benchmark"  # noqa: S105 (throwaway accounts on a local stack)
STACK_ENV = {
    "LOG_LEVEL": "WARNING",
    "BIND_HOST": "127.0.0.1",
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "RATE_LIMIT_SIGN_UP_PER_IP": "100000/hour",
    "RATE_LIMIT_SIGN_IN_PER_IP": "100000/hour",
    "RATE_LIMIT_WRITES_PER_USER": "100000/hour",
}

# {(collection, operation): {"buckets": {le: cumulative count}, "count": n, "sum": s}}
Histograms = dict[tuple[str, str], dict[str, Any]]


def read_histograms(text: str) -> tuple[Histograms, float]:
    """The write→visible histograms and the projector's lag in one exposition."""
    found: Histograms = {}
    lag = math.nan
    for family in text_string_to_metric_families(text):
        if family.name == "microblog_projector_lag_seconds":
            lag = family.samples[0].value
        if family.name != HISTOGRAM:
            continue
        for sample in family.samples:
            key = (sample.labels["collection"], sample.labels["operation"])
            entry = found.setdefault(key, {"buckets": {}, "count": 0.0, "sum": 0.0})
            if sample.name.endswith("_bucket"):
                entry["buckets"][float(sample.labels["le"])] = sample.value
            elif sample.name.endswith("_count"):
                entry["count"] = sample.value
            elif sample.name.endswith("_sum"):
                entry["sum"] = sample.value
    return found, lag


def difference(after: Histograms, before: Histograms) -> Histograms:
    changed: Histograms = {}
    for key, entry in after.items():
        earlier = before.get(key, {"buckets": {}, "count": 0.0, "sum": 0.0})
        count = entry["count"] - earlier["count"]
        if count <= 0:
            continue
        changed[key] = {
            "buckets": {
                le: value - earlier["buckets"].get(le, 0.0)
                for le, value in entry["buckets"].items()
            },
            "count": count,
            "sum": entry["sum"] - earlier["sum"],
        }
    return changed


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Prometheus' histogram_quantile: linear within the bucket the rank falls in (the lowest
    bucket starts at 0; a rank in the +Inf bucket answers the highest finite bound)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def summary(histograms: Histograms) -> dict[str, Any]:
    result = {}
    for (collection, operation), entry in sorted(histograms.items()):
        buckets = entry["buckets"]
        result[f"{collection}.{operation}"] = {
            "count": int(entry["count"]),
            "mean_seconds": entry["sum"] / entry["count"],
            "p50_seconds": quantile(0.5, buckets),
            "p90_seconds": quantile(0.9, buckets),
            "p99_seconds": quantile(0.99, buckets),
            "buckets": {
                ("+Inf" if math.isinf(le) else repr(le)): int(n)
                for le, n in sorted(buckets.items())
            },
        }
    return result


# ---- the workload -------------------------------------------------------------------------------


@dataclass
class Account:
    handle: str
    auth: dict[str, str]


async def sign_up(client: httpx.AsyncClient, handle: str) -> Account:
    body = {"handle": handle, "password": PASSWORD, "display_name": handle}
    (await client.post("/command/v1/users", json=body)).raise_for_status()
    session = await client.post(
        "/command/v1/sessions", json={"handle": handle, "password": PASSWORD}
    )
    session.raise_for_status()
    return Account(handle, {"Authorization": f"Bearer {session.json()['access_token']}"})


async def graph(client: httpx.AsyncClient, authors: int, followers: int, run: str) -> list[Account]:
    """`authors` accounts, each followed by its own `followers` accounts."""
    writers = [await sign_up(client, f"wv{run}a{i}") for i in range(authors)]
    for i, author in enumerate(writers):
        for j in range(followers):
            follower = await sign_up(client, f"wv{run}a{i}f{j}")
            followed = await client.put(
                f"/command/v1/users/{author.handle}/follow", headers=follower.auth
            )
            followed.raise_for_status()
    return writers


async def post_at_rate(
    client: httpx.AsyncClient, authors: list[Account], posts: int, rate: float
) -> tuple[int, float]:
    """Posts on a fixed schedule, not waiting for answers; (posts written, seconds taken)."""
    started = time.monotonic()

    async def one(n: int) -> bool:
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        author = authors[n % len(authors)]
        response = await client.post(
            "/command/v1/posts", json={"text": f"write to visible {n}"}, headers=author.auth
        )
        return response.status_code == 201

    written = await asyncio.gather(*(one(n) for n in range(posts)))
    return sum(written), time.monotonic() - started


async def measure(base_url: str, options: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        run = format(int(time.time() * 1000) % 10**8, "x")
        authors = await graph(client, options.authors, options.followers, run)
        await settled(client, None, 0, options.settle_seconds)  # the graph's own changes
        before, _ = read_histograms((await client.get("/metrics")).text)
        written, seconds = await post_at_rate(client, authors, options.posts, options.rate)
        after = await settled(client, before, written, options.settle_seconds)
    measured = difference(after, before)
    return {
        "benchmark": "write_visible",
        "base_url": base_url,
        "posts": written,
        "rate_per_second": options.rate,
        "achieved_rate_per_second": round(written / seconds, 2),
        "authors": options.authors,
        "followers_per_author": options.followers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average": os.getloadavg(),
        "write_to_visible": summary(measured),
    }


async def scrape(client: httpx.AsyncClient) -> Histograms:
    histograms, _ = read_histograms((await client.get("/metrics")).text)
    return histograms


def posts_summary(after: Histograms, before: Histograms) -> dict[str, Any] | None:
    """The posts' write→visible between two scrapes (None if none was projected)."""
    return summary(difference(after, before)).get("posts.insert")


async def settled(
    client: httpx.AsyncClient, before: Histograms | None, posts: int, seconds: float
) -> Histograms:
    """Poll /metrics until the projector has made `posts` more posts visible and its lag is 0."""
    deadline = time.monotonic() + seconds
    while True:
        histograms, lag = read_histograms((await client.get("/metrics")).text)
        seen = difference(histograms, before or {}).get(("posts", "insert"), {}).get("count", 0)
        if seen >= posts and lag == 0:
            return histograms
        if time.monotonic() > deadline:
            raise TimeoutError(f"the projector showed {seen} of {posts} posts in {seconds:.0f} s")
        await asyncio.sleep(0.1)


# ---- the stack, when none is given --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def gateway() -> Iterator[str]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("MONGODB_URI",)}
    env |= STACK_ENV | {"GATEWAY_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        if process.poll() is None:
            process.kill()


async def ready(base_url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base_url} was not ready in {seconds:.0f} s")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def stack(base_url: str | None) -> AsyncIterator[str]:
    if base_url is not None:
        yield base_url
        return
    with gateway() as started:
        await ready(started)
        yield started


async def main(options: argparse.Namespace) -> dict[str, Any]:
    async with stack(options.base_url) as base_url:
        return await measure(base_url, options)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a running stack (default: start one here)")
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="posts per second")
    parser.add_argument("--authors", type=int, default=5)
    parser.add_argument("--followers", type=int, default=40, help="followers of each author")
    parser.add_argument("--settle-seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args(argv)
    if options.posts < 1 or options.rate <= 0 or options.authors < 1 or options.followers < 0:
        parser.error("posts, rate and authors must be positive, followers at least 0")
    return options


if __name__ == "__main__":
    parsed = arguments()
    result = asyncio.run(main(parsed))
    text = json.dumps(result, indent=2)
    if parsed.out is not None:
        parsed.out.write_text(text + "\n")
    print(text)
