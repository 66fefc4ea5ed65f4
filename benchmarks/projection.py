"""Write→visible latency and projector throughput, measured through the API of a running stack.

A fresh reader follows the probe authors (accounts with about 50 followers). Then:

- **fixed rate**: the authors post `rate` posts a second for `seconds`, on a schedule that does
  not wait for answers (open loop), while the reader reads their home timeline (50 items) in a
  loop. A post's write→visible time runs from sending it to the first timeline answer that
  holds it: what a follower sees, one timeline read included.
- **burst**: `burst` posts as fast as `concurrency` writers go; how long after the last write the
  newest 50 are in the reader's timeline, and when the projector's lag is 0 again with at least
  one change applied per post (`/metrics`). Changes per second are the projector's applied
  changes (`microblog_projector_changes_applied_total`) from the burst's first write until then.

Everything is bounded: a phase gives up `settle_seconds` after its last write and says how many
posts it never saw.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from service_kit.consistency import STATE_HEADER, TOKEN_HEADER

PAGE = 50
POLL_PAUSE = 0.02


@dataclass
class Reader:
    handle: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def projector_counters(client: httpx.AsyncClient) -> tuple[float, float]:
    """(changes applied so far, lag in seconds) from the gateway's /metrics."""
    text = (await client.get("/metrics")).text
    applied, lag = 0.0, float("nan")
    for family in text_string_to_metric_families(text):
        if family.name == "microblog_projector_changes_applied":
            applied = sum(s.value for s in family.samples if s.name.endswith("_total"))
        elif family.name == "microblog_projector_lag_seconds":
            lag = family.samples[0].value
    return applied, lag


async def new_reader(
    client: httpx.AsyncClient, handle: str, password: str, authors: list[str]
) -> Reader:
    created = await client.post(
        "/command/v1/users", json={"handle": handle, "password": password, "display_name": handle}
    )
    created.raise_for_status()
    session = await client.post(
        "/command/v1/sessions", json={"handle": handle, "password": password}
    )
    session.raise_for_status()
    reader = Reader(handle, session.json()["access_token"])
    token = None
    for author in authors:
        followed = await client.put(f"/command/v1/users/{author}/follow", headers=reader.auth)
        followed.raise_for_status()
        token = followed.headers.get(TOKEN_HEADER, token)
    if token:  # every backfill applied before the measurements start
        for _ in range(60):
            answer = await client.get(
                "/query/v1/timeline", headers=reader.auth | {TOKEN_HEADER: token}
            )
            if answer.headers.get(STATE_HEADER) == "fresh":
                break
    return reader


class Watch:
    """The reader's timeline, read in a loop: when each post id was first seen."""

    def __init__(self, client: httpx.AsyncClient, reader: Reader) -> None:
        self._client, self._reader = client, reader
        self.first_seen: dict[str, float] = {}
        self.latest_page: list[str] = []
        self.reads = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            answer = await self._client.get(
                "/query/v1/timeline", params={"limit": PAGE}, headers=self._reader.auth
            )
            now = time.monotonic()
            self.reads += 1
            if answer.status_code == 200:
                self.latest_page = [item["id"] for item in answer.json()["items"]]
                for post_id in self.latest_page:
                    self.first_seen.setdefault(post_id, now)
            await asyncio.sleep(POLL_PAUSE)


async def _post(client: httpx.AsyncClient, token: str, text: str) -> tuple[float, dict[str, Any]]:
    sent = time.monotonic()
    answer = await client.post(
        "/command/v1/posts", json={"text": text}, headers={"Authorization": f"Bearer {token}"}
    )
    answer.raise_for_status()
    return sent, answer.json()


async def _until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(POLL_PAUSE)
    return False


async def fixed_rate(
    client: httpx.AsyncClient,
    reader: Reader,
    authors: list[str],
    *,
    rate: float,
    seconds: float,
    settle_seconds: float,
) -> dict[str, Any]:
    watch, stop = Watch(client, reader), asyncio.Event()
    watching = asyncio.create_task(watch.run(stop))
    count = max(1, round(rate * seconds))
    start = time.monotonic()
    turns = itertools.cycle(authors)

    async def scheduled(index: int, token: str) -> tuple[float, dict[str, Any]]:
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
        return await _post(client, token, f"fixed-rate probe {index} #benchprobe")

    written = await asyncio.gather(*(scheduled(i, next(turns)) for i in range(count)))
    wanted = {post["id"]: sent for sent, post in written}

    async def all_seen() -> bool:
        return wanted.keys() <= watch.first_seen.keys()

    await _until(all_seen, settle_seconds)
    stop.set()
    await watching
    delays = [watch.first_seen[i] - sent for i, sent in wanted.items() if i in watch.first_seen]
    return {
        "posts": count,
        "rate_per_second": rate,
        "seconds": seconds,
        "visible_p50_ms": _ms(statistics.median(delays) if delays else None),
        "visible_p99_ms": _ms(_percentile(delays, 0.99)),
        "visible_max_ms": _ms(max(delays) if delays else None),
        "not_seen": count - len(delays),
        "settle_seconds": settle_seconds,
        "timeline_reads": watch.reads,
    }


async def burst(
    client: httpx.AsyncClient,
    reader: Reader,
    authors: list[str],
    *,
    posts: int,
    concurrency: int,
    settle_seconds: float,
) -> dict[str, Any]:
    applied_before, _ = await projector_counters(client)
    watch, stop = Watch(client, reader), asyncio.Event()
    slots = asyncio.Semaphore(concurrency)
    turns = itertools.cycle(authors)
    start = time.monotonic()
    finished: list[float] = []

    async def one(index: int, token: str) -> dict[str, Any]:
        async with slots:
            _, post = await _post(client, token, f"burst post {index} #benchburst")
        finished.append(time.monotonic())
        return post

    written = await asyncio.gather(*(one(i, next(turns)) for i in range(posts)))
    last_write = max(finished)
    newest = {
        post["id"]
        for post in sorted(written, key=lambda p: (p["created_at"], p["id"]), reverse=True)[:PAGE]
    }
    watching = asyncio.create_task(watch.run(stop))

    async def newest_visible() -> bool:
        return newest <= set(watch.latest_page)

    shown = await _until(newest_visible, settle_seconds)
    shown_at = time.monotonic()
    stop.set()
    await watching
    after: dict[str, float] = {}

    async def caught_up() -> bool:
        applied, lag = await projector_counters(client)
        after["applied"] = applied
        return lag == 0 and applied - applied_before >= posts

    done = await _until(caught_up, max(0.0, settle_seconds - (shown_at - last_write)))
    done_at = time.monotonic()
    changes = after.get("applied", applied_before) - applied_before
    return {
        "posts": posts,
        "concurrency": concurrency,
        "write_seconds": round(last_write - start, 3),
        "writes_per_second": round(posts / max(1e-9, last_write - start), 1),
        "newest_visible_after_last_write_ms": _ms(shown_at - last_write) if shown else None,
        "all_applied_after_last_write_ms": _ms(done_at - last_write) if done else None,
        "changes_applied": changes,
        "changes_per_second": round(changes / max(1e-9, done_at - start), 1) if done else None,
        "settle_seconds": settle_seconds,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
