"""Logs are JSON lines: one per request with its route, status, duration, user and request id,
one per projector batch; `X-Request-ID` is taken when valid, made otherwise, and echoed on every
answer, errors included."""

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from command_service.commands import posts as post_commands
from service_kit.observability.logs import RequestFields, json_formatter
from tests.support import Stack, User, asgi_client, make_settings, running_stack

GENERATED = re.compile(r"[0-9a-f]{32}")


class Lines:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._stream.getvalue().splitlines()]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.all() if line["message"] == "request"]

    def of(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.requests() if line["request_id"] == request_id]


@contextmanager
def json_logs() -> Iterator[Lines]:
    """The process's JSON log lines while the block runs (the handler `configure_logging`
    installs, on a string)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestFields())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield Lines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_each_request_logs_one_json_line_with_its_id_route_status_and_user(
    stack: Stack, alice: User
):
    with json_logs() as lines:
        posted = await stack.command.post(
            "/command/v1/posts",
            json={"text": "hello"},
            headers=alice.auth | {"X-Request-ID": "client-chose-this.1"},
        )
        read = await stack.query.get(f"/query/v1/posts/{posted.json()['id']}")

    assert posted.headers["X-Request-ID"] == "client-chose-this.1"
    [line] = lines.of("client-chose-this.1")
    assert line["service"] == "command"
    assert line["method"] == "POST"
    assert line["route"] == "/command/v1/posts"
    assert line["path"] == "/command/v1/posts"
    assert line["status"] == 201
    assert line["user_id"] == alice.id
    assert line["level"] == "INFO"
    assert line["logger"] == "microblog.requests"
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert "time" in line
    generated = read.headers["X-Request-ID"]
    assert GENERATED.fullmatch(generated)
    [anonymous] = lines.of(generated)
    assert anonymous["route"] == "/query/v1/posts/{post_id}"
    assert anonymous["user_id"] is None
    assert len(lines.requests()) == 2  # one line each, nothing else logs a request


@pytest.mark.parametrize(
    "sent",
    [b"x" * 129, b"has space", b"semi;colon", b"", "ünïcode".encode(), b"new\\nline"],
)
async def test_an_invalid_request_id_is_replaced_by_a_generated_one(stack: Stack, sent: bytes):
    with json_logs() as lines:
        response = await stack.query.get("/healthz", headers={"X-Request-ID": sent})

    echoed = response.headers["X-Request-ID"]
    assert GENERATED.fullmatch(echoed)
    [line] = lines.of(echoed)
    assert line["level"] == "DEBUG"  # probes log quietly


async def test_the_longest_valid_request_id_is_kept(stack: Stack):
    sent = "a" * 100 + "-_.:" + "Z" * 24
    response = await stack.query.get("/readyz", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent


async def test_every_answer_echoes_the_request_id_errors_included(stack: Stack, alice: User):
    answers = {
        "404 unmatched": await stack.query.get("/query/v1/nothing", headers={"X-Request-ID": "a"}),
        "404 problem": await stack.query.get(
            f"/query/v1/posts/{'0' * 24}", headers={"X-Request-ID": "b"}
        ),
        "401": await stack.command.post(
            "/command/v1/posts", json={"text": "x"}, headers={"X-Request-ID": "c"}
        ),
        "422": await stack.command.post(
            "/command/v1/posts", json={"text": ""}, headers=alice.auth | {"X-Request-ID": "d"}
        ),
        "413": await stack.command.post(
            "/command/v1/posts",
            content=b"x" * (stack.settings.max_body_bytes + 1),
            headers=alice.auth | {"X-Request-ID": "e", "Content-Type": "application/json"},
        ),
        "405": await stack.query.delete("/query/v1/timeline", headers={"X-Request-ID": "f"}),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "404 unmatched": 404,
        "404 problem": 404,
        "401": 401,
        "422": 422,
        "413": 413,
        "405": 405,
    }
    assert [answer.headers["X-Request-ID"] for answer in answers.values()] == list("abcdef")


async def test_an_unexpected_error_answers_500_with_the_request_id_and_logs_it(monkeypatch):
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(post_commands, "create_post", broken)
    async with running_stack(make_settings()) as stack:
        alice = await stack.sign_up("alice")
        app = stack.command._transport.app  # type: ignore[attr-defined]
        with json_logs() as lines:
            async with asgi_client(app, raise_app_exceptions=False) as client:
                response = await client.post(
                    "/command/v1/posts",
                    json={"text": "hi"},
                    headers=alice.auth | {"X-Request-ID": "the-failing-one"},
                )

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "the-failing-one"
    [line] = lines.of("the-failing-one")
    assert line["status"] == 500
    assert line["user_id"] == alice.id
    # The error's own record carries the request id too, so the log line leads to the trace.
    errors = [line for line in lines.all() if line["level"] == "ERROR"]
    assert errors
    assert {error.get("request_id") for error in errors} == {"the-failing-one"}


async def test_each_projector_batch_logs_one_line_with_the_requests_it_applied(
    stack: Stack, alice: User, bob: User
):
    await stack.settle()
    registry = stack.projector.metrics.registry
    batches_before = registry.get_sample_value("microblog_projector_batch_seconds_count") or 0
    with json_logs() as lines:
        first = await stack.command.post(
            "/command/v1/posts", json={"text": "one"}, headers=alice.auth | {"X-Request-ID": "p1"}
        )
        await stack.command.put(
            "/command/v1/users/alice/follow", headers=bob.auth | {"X-Request-ID": "f1"}
        )
        assert first.status_code == 201
        await stack.settle()

    batches = [line for line in lines.all() if line["message"] == "batch"]
    # One line per batch the projector applied (the embedded store hands both changes to one;
    # a server may hand them over in two).
    ran = registry.get_sample_value("microblog_projector_batch_seconds_count") - batches_before
    assert len(batches) == ran >= 1
    assert {batch["logger"] for batch in batches} == {"microblog.projector"}
    assert sum(batch["changes"] for batch in batches) == 2
    by_type: dict[str, int] = {}
    for batch in batches:
        for change, count in batch["by_type"].items():
            by_type[change] = by_type.get(change, 0) + count
    assert by_type == {"posts.insert": 1, "follows.insert": 1}
    assert [request for batch in batches for request in batch["request_ids"]] == ["p1", "f1"]
    assert all(batch["rebuild"] is False for batch in batches)
    assert all(batch["duration_ms"] >= 0 and batch["lag_seconds"] >= 0 for batch in batches)


def test_uvicorns_coloured_copy_of_a_message_stays_out_of_the_json_line():
    record = logging.LogRecord("uvicorn.error", logging.INFO, "x", 1, "Started %d", (7,), None)
    record.color_message = "Started \x1b[36m%d\x1b[0m"
    line = json.loads(json_formatter().format(record))
    assert line["message"] == "Started 7"
    assert "color_message" not in line
