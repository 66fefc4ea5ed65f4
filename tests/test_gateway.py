"""The local gateway routes like the Ingress: in-process on the embedded store, or as a proxy."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from gateway.embedded import create_embedded_stack
from gateway.proxy import create_proxy_gateway
from gateway.routing import upstream_for
from tests.support import PASSWORD, PROBLEM_JSON, make_settings


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/command", "command"),
        ("/command/v1/users", "command"),
        ("/query/v1/timeline", "query"),
        ("/commands", None),
        ("/queryx/v1", None),
        ("/healthz", None),
        ("/", None),
    ],
)
def test_prefixes_match_whole_path_elements_like_kubernetes(path, upstream):
    assert upstream_for(path) == upstream


@asynccontextmanager
async def serving(app) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan, and a client that talks to it over ASGI."""
    async with app._own.router.lifespan_context(app._own):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def test_the_embedded_stack_serves_the_whole_flow_in_one_process():
    async with serving(create_embedded_stack(make_settings())) as client:
        assert (await client.get("/healthz")).json()["store"] == "embedded"
        for handle in ("alice", "bob"):
            body = {"handle": handle, "password": PASSWORD, "display_name": handle}
            assert (await client.post("/command/v1/users", json=body)).status_code == 201
        tokens = {
            handle: (
                await client.post(
                    "/command/v1/sessions", json={"handle": handle, "password": PASSWORD}
                )
            ).json()["access_token"]
            for handle in ("alice", "bob")
        }
        await client.put(
            "/command/v1/users/alice/follow", headers={"Authorization": f"Bearer {tokens['bob']}"}
        )
        post = (
            await client.post(
                "/command/v1/posts",
                json={"text": "hi"},
                headers={"Authorization": f"Bearer {tokens['alice']}"},
            )
        ).json()

        # The projector runs in the background here, as in `make run`: poll, bounded.
        async with asyncio.timeout(10):
            while True:
                timeline = await client.get(
                    "/query/v1/timeline", headers={"Authorization": f"Bearer {tokens['bob']}"}
                )
                if [item["id"] for item in timeline.json()["items"]] == [post["id"]]:
                    break
                await asyncio.sleep(0.05)

        unrouted = await client.get("/nowhere")
        assert unrouted.status_code == 404
        assert unrouted.headers["content-type"] == PROBLEM_JSON


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def upstream_server(port: int) -> AsyncIterator[None]:
    echo = FastAPI()

    @echo.api_route("/{path:path}", methods=["GET", "POST", "DELETE"])
    async def reflect(path: str, request: Request) -> dict:
        return {
            "path": request.url.path,
            "query": request.url.query,
            "body": (await request.body()).decode(),
            "authorization": request.headers.get("authorization"),
            "forwarded_for": request.headers.get("x-forwarded-for"),
            "connection": request.headers.get("connection"),
        }

    server = uvicorn.Server(
        uvicorn.Config(echo, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def test_the_proxy_forwards_paths_bodies_and_headers_unchanged():
    command_port, query_port = free_port(), free_port()
    settings = make_settings(
        mongodb_uri="mongodb://db.invalid/?replicaSet=rs0",
        command_url=f"http://127.0.0.1:{command_port}",
        query_url=f"http://127.0.0.1:{query_port}",
    )
    async with (
        upstream_server(command_port),
        upstream_server(query_port),
        serving(create_proxy_gateway(settings)) as client,
    ):
        command = await client.post(
            "/command/v1/posts?x=1",
            content=b'{"text":"hi"}',
            headers={"Authorization": "Bearer t", "Connection": "close"},
        )
        query = await client.get("/query/v1/timeline?limit=5")

    assert command.status_code == 200
    seen = command.json()
    assert (seen["path"], seen["query"], seen["body"]) == (
        "/command/v1/posts",
        "x=1",
        '{"text":"hi"}',
    )
    assert (seen["authorization"], seen["forwarded_for"]) == ("Bearer t", "127.0.0.1")
    assert seen["connection"] != "close"  # hop-by-hop headers stop at the proxy
    assert query.json()["path"] == "/query/v1/timeline"
    assert query.json()["query"] == "limit=5"


async def test_the_proxy_answers_502_when_a_service_is_down():
    settings = make_settings(
        mongodb_uri="mongodb://db.invalid/?replicaSet=rs0",
        command_url=f"http://127.0.0.1:{free_port()}",
        query_url=f"http://127.0.0.1:{free_port()}",
    )
    async with serving(create_proxy_gateway(settings)) as client:
        response = await client.get("/query/v1/users/alice")
        health = await client.get("/healthz")

    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM_JSON
    assert health.json() == {"status": "ok", "store": "mongodb"}


async def test_each_services_api_docs_route_through_the_gateway():
    async with serving(create_embedded_stack(make_settings())) as client:
        command = (await client.get("/command/openapi.json")).json()
        query = (await client.get("/query/openapi.json")).json()
        page = await client.get("/query/docs")
        style = await client.get("/query/docs/assets/swagger-ui.css")
        gateway_docs = await client.get("/docs")

    assert "/command/v1/posts" in command["paths"]
    assert "/query/v1/timeline" in query["paths"]
    assert page.status_code == 200
    assert "/query/openapi.json" in page.text
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    assert gateway_docs.status_code == 404
