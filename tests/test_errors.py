"""Every error is problem+json, and nothing unexpected leaks a stack trace."""

from command_service.commands import posts as post_commands
from tests.support import PROBLEM_JSON, Stack, User, asgi_client, make_settings, running_stack


async def test_unknown_paths_and_methods_are_problems(stack: Stack):
    not_found = await stack.command.get("/command/v1/nothing-here")
    not_allowed = await stack.query.post("/query/v1/timeline")

    assert not_found.status_code == 404
    assert not_found.headers["content-type"] == PROBLEM_JSON
    assert not_found.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No resource at /command/v1/nothing-here",
    }
    assert not_allowed.status_code == 405
    assert not_allowed.headers["content-type"] == PROBLEM_JSON


async def test_a_body_that_is_not_an_object_is_422(stack: Stack, alice: User):
    for body in ([1, 2], "text", 7, None):
        response = await stack.command.post("/command/v1/posts", json=body, headers=alice.auth)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM_JSON


async def test_an_unexpected_failure_is_a_500_problem_without_internals(monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals: connection string mongodb://user:pw@host")

    monkeypatch.setattr(post_commands, "create_post", broken)
    async with running_stack(make_settings()) as stack:
        alice = await stack.sign_up("alice")
        app = stack.command._transport.app  # type: ignore[attr-defined]
        async with asgi_client(app, raise_app_exceptions=False) as client:
            response = await client.post(
                "/command/v1/posts", json={"text": "hi"}, headers=alice.auth
            )

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 500
    assert "secret" not in response.text
    assert "Traceback" not in response.text


async def test_readiness_reports_mongodb_and_liveness_does_not(stack: Stack):
    for client in (stack.command, stack.query):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_a_service_is_live_but_not_ready_until_mongodb_is_prepared():
    import asyncio

    from fastapi import APIRouter

    from service_kit.mongo.connection import connect_embedded
    from service_kit.service_app import build_service_app

    settings = make_settings(mongodb_timeout_ms=100)
    mongodb_up = asyncio.Event()

    async def prepare(database):
        if not mongodb_up.is_set():
            raise ConnectionError("MongoDB is still starting")

    app = build_service_app(
        title="probe",
        settings=settings,
        router=APIRouter(),
        public_prefix="/probe",
        service="probe",
        prepare_database=prepare,
        connection=connect_embedded(settings),
    )
    async with app.router.lifespan_context(app), asgi_client(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 503

        mongodb_up.set()
        async with asyncio.timeout(5):
            while (await client.get("/readyz")).status_code != 200:  # noqa: ASYNC110 (the retry backs off by itself)
                await asyncio.sleep(0.05)
