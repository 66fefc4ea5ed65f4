"""How fast the embedded store serves the projector's kind of load.

    uv run --frozen --extra embedded python benchmarks/embedded_store.py [--documents N]

Seeds one collection, then times the operations the projector's read models see most: upserts by
`_id`, reads by `_id`, deletes by a plain field, and deletes by `_id`. Prints operations per second
for each phase. The figures and the machine they come from are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable

from service_kit.mongo.embedded import EmbeddedClient, EmbeddedCollection


async def timed(name: str, count: int, run: Callable[[], Awaitable[None]]) -> None:
    started = time.perf_counter()
    await run()
    seconds = time.perf_counter() - started
    print(f"{name:<42} {count:>6} ops {seconds:>8.2f} s {count / seconds:>10.1f} ops/s")


async def main(documents: int, upserts: int, deletes: int, seed: int, fast_path: bool) -> None:
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not a secret)
    client = EmbeddedClient(change_history=1_000_000, id_fast_path=fast_path)
    things: EmbeddedCollection = client.get_database("bench")["things"]

    async def insert() -> None:
        await things.insert_many(
            [{"_id": f"k{n}", "field": n % 500, "payload": "x" * 50} for n in range(documents)]
        )

    async def upsert() -> None:
        for n in range(upserts):
            key = f"k{rng.randrange(documents * 2)}"  # about half new documents
            await things.update_one({"_id": key}, {"$set": {"v": n}}, upsert=True)

    async def read() -> None:
        for _ in range(upserts):
            await things.find_one({"_id": f"k{rng.randrange(documents * 2)}"})

    async def delete_by_field() -> None:
        for value in range(deletes):
            await things.delete_many({"field": value})

    async def delete_by_id() -> None:
        for _ in range(upserts):
            await things.delete_one({"_id": f"k{rng.randrange(documents * 2)}"})

    python = ".".join(map(str, sys.version_info[:3]))
    paths = "fast paths on" if fast_path else "fast paths off (mongomock's scan)"
    print(f"{documents} documents, interleave on, {paths}, Python {python}")
    await timed("insert_many (seed)", documents, insert)
    await timed("update_one({_id}, $set, upsert=True)", upserts, upsert)
    await timed("find_one({_id})", upserts, read)
    await timed("delete_many({field: v})", deletes, delete_by_field)
    await timed("delete_one({_id})", upserts, delete_by_id)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=30_000)
    parser.add_argument("--upserts", type=int, default=2_000)
    parser.add_argument("--deletes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-fast-path", action="store_true", help="mongomock's own scan for every query"
    )
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.documents,
            arguments.upserts,
            arguments.deletes,
            arguments.seed,
            fast_path=not arguments.no_fast_path,
        )
    )
