"""What every process tells operators about itself: metrics, logs and traces, in one place.

- `metrics.py`: the process's Prometheus registry (`Telemetry`): requests, MongoDB commands,
  rate-limit rejections; `exposition` serves it with the projector's own series.
- `mongo.py`: PyMongo's command monitoring (a `CommandListener`) feeding the MongoDB series and
  spans; the embedded store emits the same events (`service_kit/mongo/embedded/monitoring.py`).
- `requests.py`: one observation per HTTP request: `X-Request-ID`, duration by route template,
  in-flight count, one JSON log line, the server span.
- `context.py`: the current request (its id and user) for the layers below the edge.
- `logs.py`: JSON lines through the standard `logging` module, configured once per process.
- `tracing.py`: OpenTelemetry (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set), and the stamp a
  write carries into the write model so that the projector continues the write's trace.

The projector's own series (lag, changes, fan-out, write→visible) are in
`query_service/projector/metrics.py`; its hooks are where a change is applied (`runner.py`) and
where a timeline bulk write is made (`read_models/timeline_entries.py`).
"""
