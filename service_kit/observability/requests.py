"""Every HTTP request observed once: its id, its metrics, its log line and (when tracing) its span.

`instrument(app, ...)` wraps the app's whole middleware stack, outside Starlette's
`ServerErrorMiddleware`, so it sees every answer, an unexpected error's 500 included (that answer
is sent by the error middleware, outside every middleware `add_middleware` can add). For each
request it:

- takes the `X-Request-ID` the client sent if it is valid (`context.VALID_REQUEST_ID`), else makes
  one, makes it the current request (`context.py`) and echoes it on the response, whatever the
  status;
- counts the request in flight and observes its duration by route template, method and status
  (`microblog_http_request_duration_seconds`); a request that got no answer at all (the client
  went away) is status `499`, as nginx logs it;
- writes one JSON log line: `service`, `method`, `route`, `path`, `status`, `duration_ms`,
  `user_id` (when signed in), `request_id` (and the trace's ids). Probes and scrapes (`/healthz`,
  `/readyz`, `/metrics`) log at DEBUG, so a pod's probes do not fill the log at INFO;
- with tracing on, runs inside OpenTelemetry's ASGI middleware, and names its server span by the
  route template (`POST /command/v1/posts`) with the request id as an attribute.

The route template is that of the route the router matched (`scope["route"]`, set by FastAPI on
the scope it routed), with the prefix of the router that included it: FastAPI's
`iter_route_contexts` lists each route as the app serves it (`RouteTemplates`). A HEAD request is
routed on a copy of its scope (`HeadAsGet`), so its template, like that of any request not routed
(a 404), is found by matching the path against the app's routes; a path no route matches is
`unmatched`, so a scan of random paths cannot make new series.
"""

import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from opentelemetry import trace
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service_kit.observability import tracing
from service_kit.observability.context import (
    REQUEST_ID_HEADER,
    RequestContext,
    close_request,
    current_request,
    open_request,
    request_id_from,
)
from service_kit.observability.metrics import Telemetry

log = logging.getLogger("microblog.requests")
UNMATCHED = "unmatched"
NO_ANSWER = "499"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
# Neither traced nor worth a span each: probes every few seconds, scrapes every 15 s or so.
UNTRACED_URLS = r"/(healthz|readyz|metrics)$"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")


def instrument(app: FastAPI, *, service: str, telemetry: Telemetry) -> None:
    """Observe every request `app` answers (see the module's docstring). The wrapping happens
    when the app builds its middleware stack, at its first request."""
    build = app.build_middleware_stack

    def build_observed() -> ASGIApp:
        observed: ASGIApp = ObservedRequests(build(), app=app, service=service, telemetry=telemetry)
        provider = tracing.provider()
        if provider is None:
            return observed
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        return OpenTelemetryMiddleware(
            observed,
            excluded_urls=UNTRACED_URLS,
            default_span_details=_method_only,
            tracer_provider=provider,
            exclude_spans=["receive", "send"],
        )

    app.build_middleware_stack = build_observed  # type: ignore[method-assign]


class ObservedRequests:
    def __init__(self, inner: ASGIApp, *, app: FastAPI, service: str, telemetry: Telemetry) -> None:
        self.inner = inner
        self.routes = RouteTemplates(app.router.routes)  # built at the first request: all added
        self.service = service
        self.request_seconds = telemetry.request_seconds
        self.in_flight = telemetry.requests_in_flight.labels(service=service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(_header(scope, _REQUEST_ID_KEY))
        status: int | None = None

        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("microblog.request_id", request_id)

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            elif not message.get("more_body", False):  # the span ends with the last body
                self._name_span(span, scope)
            await send(message)

        token = open_request(request_id)
        self.in_flight.inc()
        try:
            await self.inner(scope, receive, observed_send)
        except Exception:
            status = status or 500  # the error middleware has answered, or the server will
            raise
        finally:
            self.in_flight.dec()
            self._observe(scope, started, status, span)
            close_request(token)

    def _observe(self, scope: Scope, started: float, status: int | None, span: Any) -> None:
        seconds = time.perf_counter() - started
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = self.routes.of(scope)
        status_label = str(status) if status is not None else NO_ANSWER
        self.request_seconds.labels(self.service, route, method, status_label).observe(seconds)
        self._name_span(span, scope)
        request: RequestContext | None = current_request()
        log.log(
            logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
            "request",
            extra={
                "service": self.service,
                "method": method,
                "route": route,
                "path": scope["path"],
                "status": int(status_label),
                "duration_ms": round(seconds * 1000, 3),
                "user_id": request.user_id if request else None,
            },
        )

    def _name_span(self, span: Any, scope: Scope) -> None:
        if span.is_recording():
            route = self.routes.of(scope)
            method = scope["method"] if scope["method"] in METHODS else "HTTP"
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)


class RouteTemplates:
    """Each route's template as the app serves it (its routers' prefixes included)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._by_route: dict[int, str] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        served = list(iter_route_contexts(routes))
        inclusions = Counter(id(context.original_route) for context in served)
        for context in served:
            template = str(context.path_format or context.path)
            pattern = getattr(context, "path_regex", None)
            if pattern is not None:
                self._patterns.append((pattern, template))
            if inclusions[id(context.original_route)] == 1:  # else: the path decides
                self._by_route[id(context.original_route)] = template

    def of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None and id(route) in self._by_route:
            return self._by_route[id(route)]
        path = scope["path"]
        for pattern, template in self._patterns:  # whatever the method: a 405 has a route too
            if pattern.match(path):
                return template
        return UNMATCHED


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The server span's first name: its method. Once routed it becomes `METHOD /route/{id}`
    (`ObservedRequests`): a raw path in the name would make one name per id."""
    method = scope.get("method", "HTTP")
    return (method if method in METHODS else "HTTP"), {}
