"""Per-request overhead of the services: the same request through the real app and a bare one.

A small graph is written through the command API on the embedded store and projected once. Then
each scenario's request is sent `--requests` times, one at a time, to the real application (the
embedded gateway `make run` serves: both services' middleware, dependencies, handlers, the store)
and to a bare FastAPI app that answers the same path with the same bytes (captured from the real
app) and nothing else. The figure that matters is the ratio of the two per-request costs: it says
what the framework around the handlers and the store cost, on this machine, in this run.

`--transport asgi` (the default) calls both apps in-process as an ASGI server would, with no
socket, HTTP parser or client library in between: the cost of the application alone.
`--transport uvicorn` serves each app with uvicorn on 127.0.0.1 (a free port) in this process and
sends real HTTP/1.1 over one kept-alive httpx connection, from the same event loop (so the client's
cost is counted too). `--transport wrk` serves them the same way and drives each for `--seconds`
with wrk (one thread, one connection) as a separate process: the CPU time this process spends is
then the server's alone, per request, which stays meaningful on a busy machine where wall-clock
figures do not. The projector has caught up and is not running while requests are timed. Results
are JSON on stdout (`--out FILE` writes them there too).

    uv run --frozen --extra embedded python -m benchmarks.request_overhead
    uv run --frozen --extra embedded python -m benchmarks.request_overhead --transport wrk
"""

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import platform
import pstats
import re
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from fastapi import FastAPI, Response
from starlette.types import ASGIApp

from command_service.main import create_app as create_command_app
from gateway.app import PrefixDispatcher
from query_service.main import create_app as create_query_app
from query_service.projector.runner import Projector
from service_kit.mongo.connection import connect_embedded
from tests.support import PASSWORD, make_settings


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]


@dataclass(frozen=True)
class Captured:
    """What the real app answered once: the bare app answers the same."""

    status: int
    content_type: str
    body: bytes


def bare_app(answers: dict[str, Captured]) -> FastAPI:
    """A FastAPI app with one route per path, each returning its captured bytes."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for path, answer in answers.items():
        app.add_api_route(path, _answering(answer), methods=["GET"], include_in_schema=False)
    return app


def _answering(answer: Captured) -> Callable[[], Awaitable[Response]]:
    async def endpoint() -> Response:
        return Response(answer.body, answer.status, media_type=answer.content_type)

    return endpoint


async def seed(client: httpx.AsyncClient, users: int, posts_each: int) -> dict[str, str]:
    """`users` accounts, each following the next ten, each with `posts_each` posts.
    Returns the first user's access token."""
    tokens: dict[str, str] = {}
    for n in range(users):
        handle = f"user{n:03d}"
        body = {"handle": handle, "password": PASSWORD, "display_name": f"User {n}"}
        created = await client.post("/command/v1/users", json=body)
        created.raise_for_status()
        session = await client.post(
            "/command/v1/sessions", json={"handle": handle, "password": PASSWORD}
        )
        session.raise_for_status()
        tokens[handle] = session.json()["access_token"]
    handles = list(tokens)
    for n, handle in enumerate(handles):
        auth = {"Authorization": f"Bearer {tokens[handle]}"}
        for step in range(1, min(10, users - 1) + 1):
            followee = handles[(n + step) % users]
            (
                await client.put(f"/command/v1/users/{followee}/follow", headers=auth)
            ).raise_for_status()
        for k in range(posts_each):
            text = f"post {k} by {handle} about #topic{k % 5}"
            (
                await client.post("/command/v1/posts", json={"text": text}, headers=auth)
            ).raise_for_status()
    return tokens


def scenarios(tokens: dict[str, str], consistency_token: str) -> list[Scenario]:
    reader = next(iter(tokens))
    auth = {"Authorization": f"Bearer {tokens[reader]}"}
    return [
        Scenario("profile", f"/query/v1/users/{reader}", {}, {}),
        Scenario(
            "profile_with_token",
            f"/query/v1/users/{reader}",
            {"X-Consistency-Token": consistency_token},
            {},
        ),
        Scenario("post", "/query/v1/posts/{post}", {}, {}),  # filled in once a post id is known
        Scenario("timeline_20", "/query/v1/timeline", auth, {"limit": "20"}),
        Scenario("user_posts_20", f"/query/v1/users/{reader}/posts", {}, {"limit": "20"}),
    ]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


Get = Callable[[Scenario, str], Awaitable[Answer]]


@dataclass(frozen=True)
class Timings:
    count: int
    wall: float  # seconds, all requests together
    p50: float
    p99: float
    cpu: float  # this process's CPU seconds over all of them


async def time_requests(get: Get, scenario: Scenario, path: str, count: int) -> Timings:
    durations = []
    cpu_started = time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        answer = await get(scenario, path)
        durations.append(time.perf_counter() - started)
        if answer.status != 200:
            raise RuntimeError(f"{scenario.name}: {answer.status} {answer.body[:200]!r}")
    cpu = time.process_time() - cpu_started
    ordered = sorted(durations)
    p99 = ordered[min(count - 1, int(count * 0.99))]
    return Timings(count, sum(ordered), ordered[count // 2], p99, cpu)


def summary(timings: Timings) -> dict[str, float]:
    """Wall-clock figures, and CPU time per request (less disturbed by other processes)."""
    return {
        "requests": timings.count,
        "cpu_us": round(timings.cpu / timings.count * 1e6, 1),
        "mean_us": round(timings.wall / timings.count * 1e6, 1),
        "p50_us": round(timings.p50 * 1e6, 1),
        "p99_us": round(timings.p99 * 1e6, 1),
        "requests_per_second": round(timings.count / timings.wall, 1),
    }


@contextlib.contextmanager
def profiled(enabled: bool) -> Iterator[None]:
    """With `enabled`, cProfile what runs inside and print the costliest functions to stderr."""
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(
            os.environ.get("PROFILE_SORT", "cumulative")
        ).print_stats(45)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def asgi_caller(app: ASGIApp) -> Get:
    """Calls `app` as an ASGI server would, with no client library and no socket in between."""

    async def get(scenario: Scenario, path: str) -> Answer:
        headers = [(b"host", b"127.0.0.1")] + [
            (name.lower().encode(), value.encode()) for name, value in scenario.headers.items()
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": urlencode(scenario.params).encode(),
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        requested = False
        status, response_headers, chunks = 0, {}, []

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # no disconnect: the response ends the exchange
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = {k.decode(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)  # type: ignore[arg-type]
        return Answer(status, response_headers, b"".join(chunks))

    return get


@dataclass(frozen=True)
class Client:
    get: Get
    base_url: str | None = None  # where uvicorn serves the app, if it does


@contextlib.asynccontextmanager
async def served(app: ASGIApp, transport: str) -> AsyncIterator[Client]:
    """A way to GET from `app`: in-process, or through uvicorn on a free loopback port."""
    if transport == "asgi":
        yield Client(asgi_caller(app))
        return
    async with uvicorn_serving(app) as base_url:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:

            async def get(scenario: Scenario, path: str) -> Answer:
                response = await client.get(path, headers=scenario.headers, params=scenario.params)
                return Answer(response.status_code, dict(response.headers), response.content)

            yield Client(get, base_url)


@contextlib.asynccontextmanager
async def uvicorn_serving(app: ASGIApp) -> AsyncIterator[str]:
    """`app` under uvicorn on 127.0.0.1 (a free port), in this process and event loop."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def time_with_wrk(base_url: str, scenario: Scenario, path: str, seconds: float) -> Timings:
    """wrk (one thread, one connection) drives the uvicorn-served app for `seconds`; the CPU this
    process spends meanwhile is the server's alone, since the client is another process."""
    url = base_url + path + ("?" + urlencode(scenario.params) if scenario.params else "")
    headers = [
        arg for name, value in scenario.headers.items() for arg in ("-H", f"{name}: {value}")
    ]
    command = ["wrk", "-t1", "-c1", f"-d{seconds:g}s", "--latency", *headers, url]
    cpu_started = time.process_time()
    wrk = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    output = (await wrk.communicate())[0].decode()
    cpu = time.process_time() - cpu_started
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", output)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", output)
    if wrk.returncode != 0 or not (done and p50 and p99) or "Non-2xx" in output:
        raise RuntimeError(f"wrk failed on {scenario.name}:\n{output}")
    count = int(done.group(1))
    return Timings(
        count,
        _seconds(done.group(2), done.group(3)),
        _seconds(*p50.groups()),
        _seconds(*p99.groups()),
        cpu,
    )


def _seconds(number: str, unit: str) -> float:
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    settings = make_settings(rate_limits_enabled=False, log_level="WARNING")
    connection = connect_embedded(settings)
    command_app = create_command_app(settings, connection)
    query_app = create_query_app(settings, connection)
    # What the embedded gateway serves (gateway/embedded.py), without its background projector:
    # the projector runs to completion before anything is timed.
    gateway = PrefixDispatcher({"command": command_app, "query": query_app}, FastAPI())
    projector = Projector(connection.database, settings, connection.read_database)
    async with contextlib.AsyncExitStack() as running:
        for app in (command_app, query_app):
            await running.enter_async_context(app.router.lifespan_context(app))
        direct = await running.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://x")
        )
        tokens = await seed(direct, arguments.users, arguments.posts)
        reader = next(iter(tokens))
        auth = {"Authorization": f"Bearer {tokens[reader]}"}
        last = await direct.post("/command/v1/posts", json={"text": "the last one"}, headers=auth)
        last.raise_for_status()
        await projector.catch_up()

        chosen = scenarios(tokens, last.headers["X-Consistency-Token"])
        paths = {s.name: s.path.replace("{post}", last.json()["id"]) for s in chosen}
        results: dict[str, Any] = {}
        real = await running.enter_async_context(served(gateway, arguments.transport))
        answers = {}
        for scenario in chosen:
            answer = await real.get(scenario, paths[scenario.name])
            if answer.status != 200:
                raise RuntimeError(f"{scenario.name}: {answer.status} {answer.body[:200]!r}")
            if "X-Consistency-Token" in scenario.headers:
                # The token is reached: the figure is the middleware's cost, not a wait.
                assert answer.headers["x-consistency"] == "fresh", answer.headers
            answers[paths[scenario.name]] = Captured(
                answer.status, answer.headers["content-type"], answer.body
            )
        bare = await running.enter_async_context(served(bare_app(answers), arguments.transport))
        for scenario in chosen:
            if arguments.only and scenario.name not in arguments.only:
                continue
            path = paths[scenario.name]
            for client in (real, bare):  # warm up both
                await time_requests(client.get, scenario, path, min(50, arguments.requests))
            with profiled(arguments.profile == scenario.name):
                real_times = await measure(real, scenario, path, arguments)
            bare_times = await measure(bare, scenario, path, arguments)
            real_summary, bare_summary = summary(real_times), summary(bare_times)
            results[scenario.name] = {
                "path": path,
                "bytes": len(answers[path].body),
                "microblog": real_summary,
                "bare_fastapi": bare_summary,
                "ratio_cpu": round(real_summary["cpu_us"] / bare_summary["cpu_us"], 2),
                "ratio_p50": round(real_summary["p50_us"] / bare_summary["p50_us"], 2),
                "ratio_mean": round(real_summary["mean_us"] / bare_summary["mean_us"], 2),
            }
    return {
        "benchmark": "request_overhead",
        "transport": arguments.transport,
        "requests_per_scenario": arguments.requests if arguments.transport != "wrk" else None,
        "seconds_per_scenario": arguments.seconds if arguments.transport == "wrk" else None,
        "data": {"users": arguments.users, "posts_per_user": arguments.posts},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "scenarios": results,
    }


async def measure(
    client: Client, scenario: Scenario, path: str, arguments: argparse.Namespace
) -> Timings:
    if arguments.transport == "wrk":
        assert client.base_url is not None
        return await time_with_wrk(client.base_url, scenario, path, arguments.seconds)
    return await time_requests(client.get, scenario, path, arguments.requests)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transport", choices=("asgi", "uvicorn", "wrk"), default="asgi")
    parser.add_argument("--seconds", type=float, default=5, help="per scenario and app, for wrk")
    parser.add_argument("--profile", help="cProfile the real app's requests of this scenario")
    parser.add_argument("--requests", type=int, default=1000, help="per scenario and app")
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--posts", type=int, default=4, help="posts per user")
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    parser.add_argument("--out", help="also write the JSON here")
    arguments = parser.parse_args(argv)
    if arguments.transport == "wrk" and shutil.which("wrk") is None:
        parser.error("--transport wrk needs wrk on PATH (apt-get install wrk)")
    if arguments.requests < 1 or arguments.users < 2:
        parser.error("--requests must be at least 1 and --users at least 2")
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run(arguments))
    text = json.dumps(result, indent=2)
    print(text)
    if arguments.out:
        with open(arguments.out, "w") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
