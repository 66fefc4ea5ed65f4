"""Point 4: honest failures: MongoDB down is 503, no header-built redirects, HEAD, bare 204s."""

import asyncio

import pytest
from pymongo.errors import AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError

from gateway.embedded import create_embedded_stack
from service_kit.write_model import POSTS
from tests.support import PROBLEM_JSON, Stack, User, asgi_client, make_settings


@pytest.mark.parametrize(
    "error", [ServerSelectionTimeoutError("no primary"), AutoReconnect("x"), NetworkTimeout("x")]
)
async def test_mongodb_unreachable_is_503_with_retry_after_on_both_services(
    stack: Stack, alice: User, monkeypatch, error
):
    async def unreachable(*args, **kwargs):
        raise error

    collection = type(stack.database[POSTS])
    monkeypatch.setattr(collection, "insert_one", unreachable)
    monkeypatch.setattr(collection, "find_one", unreachable)
    write = await stack.command.post("/command/v1/posts", json={"text": "hi"}, headers=alice.auth)
    read = await stack.query.get("/query/v1/users/alice")
    for response in (write, read):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == PROBLEM_JSON
        assert int(response.headers["retry-after"]) > 0


async def test_a_trailing_slash_is_404_never_a_redirect(stack: Stack):
    response = await stack.query.get(
        "/query/v1/users/alice/", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_head_works_on_every_get_route(stack: Stack, alice: User):
    post = await alice.post("hello")
    await stack.settle()
    for path in [
        "/query/v1/users/alice",
        "/query/v1/users/alice/posts",
        f"/query/v1/posts/{post['id']}",
        "/healthz",
        "/readyz",
        "/query/docs",
        "/query/openapi.json",
    ]:
        head = await stack.query.head(path, headers=alice.auth)
        get = await stack.query.get(path, headers=alice.auth)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
    assert (await stack.query.head("/query/v1/timeline", headers=alice.auth)).status_code == 200


async def test_no_content_answers_carry_no_body_type(stack: Stack, alice: User, bob: User):
    post = await alice.post("bye")
    for response in [
        await bob.follow("alice"),
        await bob.unfollow("alice"),
        await alice.delete(post["id"]),
    ]:
        assert response.status_code == 204
        assert "content-type" not in response.headers
        assert response.content == b""


async def test_the_embedded_gateway_answers_readyz():
    stack = create_embedded_stack(make_settings())
    own = stack._own
    async with own.router.lifespan_context(own), asgi_client(stack) as client:  # type: ignore[arg-type]
        ready = None
        for _ in range(200):
            ready = await client.get("/readyz")
            if ready.status_code == 200:
                break
            assert ready.headers["content-type"] == PROBLEM_JSON
            await asyncio.sleep(0.025)
        assert ready is not None
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        assert (await client.head("/healthz")).status_code == 200

        own.state.projector.status.phase = "retrying"  # the projector lost its stream
        assert (await client.get("/readyz")).status_code == 503


async def test_method_not_allowed_lists_every_method_of_the_path(stack: Stack):
    response = await stack.command.get("/command/v1/users/alice/follow")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, PUT"
    sessions = await stack.command.put("/command/v1/sessions")
    assert sessions.headers["allow"] == "DELETE, POST"
