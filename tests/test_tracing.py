"""One trace across the CQRS boundary: a POST's server span, its MongoDB commands, and the
projector's spans for the change it wrote and for each timeline bulk write of its fan-out; the
stamp that carries the trace lives in the write model only, never in a read model or an answer."""

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id

from query_service.read_models.registry import READ_MODEL_COLLECTIONS
from service_kit.observability import tracing
from service_kit.write_model import COLLECTIONS, POSTS
from tests.support import PASSWORD, Stack, make_settings, running_stack

ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def traced_stack(**settings: Any) -> AsyncIterator[tuple[Stack, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing.tracing_with(provider):
        async with running_stack(make_settings(**settings)) as stack:
            yield stack, exporter


async def sign_up(stack: Stack, handle: str) -> dict[str, str]:
    body = {"handle": handle, "password": PASSWORD, "display_name": handle.title()}
    assert (await stack.command.post("/command/v1/users", json=body)).status_code == 201
    session = await stack.command.post(
        "/command/v1/sessions", json={"handle": handle, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {session.json()['access_token']}"}


def one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [span.name for span in spans])
    return found[0]


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    parent_id = parent.context.span_id
    return [span for span in spans if span.parent is not None and span.parent.span_id == parent_id]


async def test_one_trace_shows_a_post_its_commit_the_change_stream_the_projection_and_the_timelines():
    # A fan-out chunk of 2: the author and three followers take two bulk writes.
    async with traced_stack(projector_fanout_chunk=2) as (stack, exporter):
        await stack.settle()
        alice = await sign_up(stack, "alice")
        for follower in ("bob", "carol", "dave"):
            auth = await sign_up(stack, follower)
            await stack.command.put("/command/v1/users/alice/follow", headers=auth)
        await stack.settle()
        exporter.clear()

        posted = await stack.command.post(
            "/command/v1/posts",
            json={"text": "traced"},
            headers=alice | {"X-Request-ID": "the-post"},
        )
        await stack.settle()
        spans = list(exporter.get_finished_spans())
        stored = await stack.database[POSTS].find_one({"_id": ObjectId(posted.json()["id"])})

    server = one(spans, "POST /command/v1/posts")
    assert server.kind == SpanKind.SERVER
    assert server.attributes["microblog.request_id"] == "the-post"
    assert server.attributes["http.route"] == "/command/v1/posts"
    trace_id = server.context.trace_id
    in_trace = [span for span in spans if span.context.trace_id == trace_id]
    # The commit: the insert of the post, under the request's span.
    commit = one(in_trace, "insert posts")
    assert commit.kind == SpanKind.CLIENT
    assert commit.parent.span_id == server.context.span_id
    assert commit.attributes["db.collection.name"] == "posts"
    # The stamp in the write model names the request and its span.
    assert stored["_trace"]["request_id"] == "the-post"
    assert stored["_trace"]["traceparent"].split("-")[1] == format_trace_id(trace_id)
    # The projector continues that trace: the wait in the change stream, then the projection.
    waited = one(in_trace, "change stream")
    projected = one(in_trace, "project posts insert")
    for span in (waited, projected):
        assert span.parent.span_id == server.context.span_id
        assert span.attributes["microblog.request_id"] == "the-post"
    assert waited.start_time <= waited.end_time <= projected.start_time
    assert commit.end_time <= waited.end_time
    # ... and under the projection, each bulk write of the fan-out, with its MongoDB command.
    bulk_writes = [
        span for span in children(in_trace, projected) if span.name == "timeline bulk write"
    ]
    assert [span.attributes["microblog.timeline_entries"] for span in bulk_writes] == [2, 2]
    for bulk_write in bulk_writes:
        [command] = children(in_trace, bulk_write)
        assert command.name == "update timeline_entries"
    # The post view is written under the projection too.
    assert "update post_views" in {span.name for span in children(in_trace, projected)}


async def test_a_delete_carries_no_stamp_and_starts_a_trace_of_its_own():
    async with traced_stack() as (stack, exporter):
        await stack.settle()
        bob = await sign_up(stack, "bob")
        await sign_up(stack, "alice")
        await stack.command.put("/command/v1/users/alice/follow", headers=bob)
        await stack.settle()
        exporter.clear()
        await stack.command.delete("/command/v1/users/alice/follow", headers=bob)
        await stack.settle()
        spans = list(exporter.get_finished_spans())

    server = one(spans, "DELETE /command/v1/users/{handle}/follow")
    projected = one(spans, "project follows delete")
    assert projected.parent is None
    assert projected.context.trace_id != server.context.trace_id
    assert all(span.name != "change stream" or span.parent is None for span in spans)


async def test_probes_and_scrapes_are_not_traced():
    async with traced_stack() as (stack, exporter):
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await stack.query.get(path)).status_code == 200
        assert exporter.get_finished_spans() == ()


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


async def test_the_stamp_stays_in_the_write_model_never_in_a_read_model_or_an_answer():
    answers: list[Any] = []
    async with traced_stack() as (stack, _):
        await stack.settle()
        alice = await sign_up(stack, "alice")
        bob = await sign_up(stack, "bob")

        async def call(method: str, client: Any, path: str, **kwargs: Any) -> Any:
            response = await getattr(client, method)(path, **kwargs)
            assert response.status_code < 400, (path, response.text)
            if response.content:
                answers.append(response.json())
            return response

        cmd, qry = stack.command, stack.query
        await call("put", cmd, "/command/v1/users/alice/follow", headers=bob)
        post = (
            await call("post", cmd, "/command/v1/posts", json={"text": "#hi @bob"}, headers=alice)
        ).json()
        await call(
            "post",
            cmd,
            "/command/v1/posts",
            json={"text": "re", "reply_to": post["id"]},
            headers=bob,
        )
        await call("put", cmd, f"/command/v1/posts/{post['id']}/like", headers=bob)
        await call("put", cmd, f"/command/v1/posts/{post['id']}/repost", headers=bob)
        await call("patch", cmd, "/command/v1/users/me", json={"bio": "hello"}, headers=alice)
        await call("put", cmd, "/command/v1/users/bob/block", headers=alice)
        await call("delete", cmd, "/command/v1/users/bob/block", headers=alice)
        await call("put", cmd, "/command/v1/users/alice/follow", headers=bob)  # the block ended it
        await sign_up(stack, "carol")
        await call("put", cmd, "/command/v1/users/carol/block", headers=alice)
        await stack.settle()
        notifications = (await call("get", qry, "/query/v1/notifications", headers=alice)).json()
        await call(
            "post",
            cmd,
            "/command/v1/notifications/read",
            json={"up_to": notifications["items"][0]["id"]},
            headers=alice,
        )
        await stack.settle()
        for path in (
            "/query/v1/timeline",
            "/query/v1/users/alice",
            "/query/v1/users/alice/posts",
            f"/query/v1/posts/{post['id']}",
            f"/query/v1/posts/{post['id']}/replies",
            f"/query/v1/posts/{post['id']}/likes",
            "/query/v1/explore",
            "/query/v1/explore/hashtags",
            "/query/v1/search?q=hi",
            "/query/v1/users/alice/followers",
            "/query/v1/notifications",
        ):
            await call("get", qry, path, headers=bob)
        stamped = {
            name: await stack.database[name].count_documents({"_trace": {"$exists": True}})
            for name in COLLECTIONS
        }
        read_models = await stack.read_models()

    # Every kind of write stamped its document (so the field was there to leak) ...
    assert all(stamped[name] > 0 for name in COLLECTIONS), stamped
    # ... and no read model and no answer shows it.
    for name in READ_MODEL_COLLECTIONS:
        for document in read_models[name]:
            assert "_trace" not in set(_keys(document)), (name, document)
    assert answers
    for answer in answers:
        assert "_trace" not in set(_keys(answer)), answer


def test_stamps_are_read_from_the_write_that_made_the_change():
    stamp = {"request_id": "r", "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    insert = {"operationType": "insert", "fullDocument": {"_trace": stamp}}
    update = {
        "operationType": "update",
        "updateDescription": {"updatedFields": {"_trace": stamp}},
        "fullDocument": {"_trace": {"request_id": "a later write"}},
    }
    untouched = {
        "operationType": "update",
        "updateDescription": {"updatedFields": {"x": 1}},
        "fullDocument": {"_trace": stamp},  # another write's: not this change's
    }
    assert tracing.stamp_of(insert) == stamp
    assert tracing.stamp_of(update) == stamp
    assert tracing.stamp_of(untouched) is None
    assert tracing.stamp_of({"operationType": "delete", "documentKey": {"_id": 1}}) is None


def test_tracing_is_off_without_an_endpoint():
    assert not tracing.enabled()
    assert tracing.write_stamp("r") == {"request_id": "r"}
    assert tracing.continued({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}) is None


class _Collector(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []  # noqa: RUF012 (one test's mailbox)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_with_an_endpoint_a_process_exports_its_spans_over_otlp_http():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script = (
        "from service_kit.observability import tracing\n"
        "from service_kit.settings import Settings\n"
        "tracing.configure_tracing(Settings(_env_file=None), 'command')\n"
        "assert tracing.enabled()\n"
        "with tracing.span('exported', {'k': 'v'}):\n"
        "    pass\n"
        "tracing.provider().shutdown()\n"
    )
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
        "MONGODB_URI": "",
    }
    env.pop("MONGODB_URI")
    try:
        done = subprocess.run(  # noqa: S603 (our interpreter, a fixed script)
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=60
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr.decode()
    [(path, body)] = _Collector.received
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "microblog-command"
    names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert names == ["exported"]


def test_an_endpoint_must_be_an_http_url():
    with pytest.raises(ValueError, match="otel_exporter_otlp_endpoint"):
        make_settings(otel_exporter_otlp_endpoint="collector:4318")
