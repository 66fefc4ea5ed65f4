"""OpenTelemetry traces: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, then exported over OTLP.

One trace follows a write across the CQRS boundary: the request's server span (ASGI
instrumentation, `requests.py`), its MongoDB commands (`mongo.py`), and the projector's spans for
the change that write made and for the timeline bulk writes of its fan-out. The write carries the
link: every write-model document a command writes gets a small `_trace` field, its *stamp*
(`write_stamp`): the request id and the W3C `traceparent` of the span that wrote it. The projector
reads the stamp from the change event (`stamp_of`) and continues that trace (`continued`). Read
models never copy the field (projections copy named fields only) and no API response shows it.

The tracer provider is this module's, not OpenTelemetry's global one: `configure_tracing` sets it
once per process (and the global one with it, for any library that looks there), and tests swap in
an SDK provider with an in-memory exporter for a block (`tracing_with`). While it is unset, every
helper here is a cheap no-op and no span is made.
"""

import atexit
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from service_kit.settings import Settings

TRACE_FIELD = "_trace"
TRACER_NAME = "microblog"
_propagator = TraceContextTextMapPropagator()  # W3C traceparent only: no baggage in documents
_provider: TracerProvider | None = None
_NO_OP = trace.NoOpTracer()


def enabled() -> bool:
    return _provider is not None


def provider() -> TracerProvider | None:
    return _provider


def tracer() -> Tracer:
    return _provider.get_tracer(TRACER_NAME) if _provider is not None else _NO_OP


def configure_tracing(settings: Settings, service: str) -> None:
    """Once per process: with OTEL_EXPORTER_OTLP_ENDPOINT, export spans over OTLP/HTTP (the
    endpoint is a base URL; `/v1/traces` is appended, as the OTLP specification says). The
    exporter's and the SDK's other OTEL_* variables (headers, timeout, sampler) apply as usual."""
    global _provider
    endpoint = settings.otel_exporter_otlp_endpoint
    if endpoint is None or _provider is not None:
        return
    # Imported here: only a process that exports loads the exporter (and its HTTP client).
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    resource = Resource.create({SERVICE_NAME: settings.otel_service_name or f"microblog-{service}"})
    configured = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    configured.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(configured)
    atexit.register(configured.shutdown)  # flush what is still queued
    _provider = configured


def span(name: str, attributes: Mapping[str, Any]) -> AbstractContextManager[Any]:
    """A span under the current one for the block, when tracing (else nothing at all)."""
    if _provider is None:
        return nullcontext()
    return _provider.get_tracer(TRACER_NAME).start_as_current_span(name, attributes=attributes)


@contextmanager
def tracing_with(replacement: TracerProvider) -> Iterator[None]:
    """Trace into `replacement` while the block runs (tests: an in-memory exporter)."""
    global _provider
    before, _provider = _provider, replacement
    try:
        yield
    finally:
        _provider = before


# ---- across the boundary: the stamp a write carries, and the trace the projector continues -----


def write_stamp(request_id: str | None) -> dict[str, str]:
    """What a write-model document records of the request that wrote it: its request id and,
    when tracing, the current span's `traceparent`."""
    stamp: dict[str, str] = {}
    if request_id is not None:
        stamp["request_id"] = request_id
    if _provider is not None:
        _propagator.inject(stamp)
    return stamp


def stamp_of(change: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The stamp of the write that made this change event: an insert's or a replacement's
    document, or the fields an update set (an update that did not set it names no write: the
    document's stamp is then an earlier write's). A delete carries none."""
    operation = change.get("operationType")
    if operation in ("insert", "replace"):
        document = change.get("fullDocument") or {}
    elif operation == "update":
        document = (change.get("updateDescription") or {}).get("updatedFields") or {}
    else:
        return None
    stamp = document.get(TRACE_FIELD)
    return stamp if isinstance(stamp, Mapping) else None


def continued(stamp: Mapping[str, Any] | None) -> Context | None:
    """The context of the span that wrote `stamp` (its trace continues), or None."""
    if _provider is None or stamp is None or "traceparent" not in stamp:
        return None
    carrier = {key: str(value) for key, value in stamp.items() if isinstance(value, str)}
    extracted = _propagator.extract(carrier)
    valid = trace.get_current_span(extracted).get_span_context().is_valid
    return extracted if valid else None
