"""Process-wide logging: JSON lines on stderr, one object per record, at the configured level.

Configured once per process (`configure_logging`, from `service_kit.serve` and the gateway), with
python-json-logger's formatter: `time` (UTC, ISO 8601), `level`, `logger`, `message`, and each
record's extra fields (`log.info("request", extra={...})`). Inside a request every record also
carries its `request_id` and, when tracing, the `trace_id` and `span_id` of the current span, so
a line found in the logs leads to its request and its trace. uvicorn's own access log is off
(`serve.py`): each request's one line is written by `requests.py`.
"""

import logging
import sys

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from service_kit.observability.context import current_request

FIELDS = ("levelname", "name", "message")
RENAMED = {"levelname": "level", "name": "logger"}
# uvicorn adds an ANSI-coloured copy of some messages to its records: not for a JSON line.
LEFT_OUT = (*RESERVED_ATTRS, "color_message")


class RequestFields(logging.Filter):
    """Adds the current request's id and the current span's ids to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request()
        if request is not None and not hasattr(record, "request_id"):
            record.request_id = request.request_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = trace.format_trace_id(span.trace_id)
            record.span_id = trace.format_span_id(span.span_id)
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        list(FIELDS), rename_fields=RENAMED, timestamp="time", reserved_attrs=LEFT_OUT
    )


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestFields())
    logging.basicConfig(level=level, handlers=[handler], force=True)
