"""OpenTelemetry spans, when the `otel` extra is installed and TOLLWAY_OTEL_ENABLED is set.

`setup` (called once per process by `tollway serve`) makes the SDK's tracer provider, named
`tollway-<service>`, exporting in batches over OTLP/HTTP to where the standard OpenTelemetry
variables say (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318, OTEL_EXPORTER_OTLP_HEADERS
...). Then every request is a SERVER span continuing the caller's `traceparent`
(services/common/http/middleware.py), each gateway attempt at a provider a CLIENT span whose
context goes to the provider in `traceparent`, and the ledger's receipt ingest links to the
traces of the receipts it books.

Without the extra, or without the setting, nothing here imports OpenTelemetry's SDK and every
function is a cheap no-op: the services work as they did (a caller's `traceparent` still reaches
the logs, the receipt and the provider: services/common/tracing/traceparent.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

from services.common.tracing.traceparent import TraceParent

log = structlog.get_logger("tollway.tracing")

_tracer: Any = None  # the SDK's tracer once set up; None: tracing off


def enabled() -> bool:
    return _tracer is not None


def setup(service: str, on: bool, *, exporter: Any = None) -> bool:
    """Tracing for this process when `on`; False (and a warning) when the extra is missing.
    `exporter` (tests): spans go there, one by one, and the process-wide provider is left alone."""
    global _tracer
    if not on:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        log.warning("otel_unavailable", service=service, error=str(exc),
                    message="TOLLWAY_OTEL_ENABLED is set but the otel extra is not installed: pip install"
                            " 'tollway[otel]'; running without tracing")
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": f"tollway-{service}"}))
    if exporter is None:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)  # FastAPI's own spans join ours
    else:
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _tracer = provider.get_tracer("tollway")
    log.info("otel_enabled", service=service)
    return True


def reset() -> None:
    """Tracing off again (tests)."""
    global _tracer
    _tracer = None


def _parent_context(parent: TraceParent | None) -> Any:
    if parent is None:
        return None
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    remote = SpanContext(int(parent.trace_id, 16), int(parent.span_id, 16), is_remote=True,
                         trace_flags=TraceFlags(int(parent.flags, 16)))
    return trace.set_span_in_context(NonRecordingSpan(remote))


def _ids(span: Any) -> TraceParent:
    ctx = span.get_span_context()
    return TraceParent(format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), format(int(ctx.trace_flags), "02x"))


class ServerSpan:
    """A request's span, current while the request runs (its context attached to the task)."""

    def __init__(self, method: str, path: str, parent: TraceParent | None) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind

        self.method = method
        self.span = _tracer.start_span(method, context=_parent_context(parent), kind=SpanKind.SERVER,
                                       attributes={"http.request.method": method, "url.path": path})
        self.ids = _ids(self.span)
        self._token = context.attach(trace.set_span_in_context(self.span))

    def end(self, route: str, status: int) -> None:
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        self.span.update_name(f"{self.method} {route}")
        self.span.set_attribute("http.route", route)
        self.span.set_attribute("http.response.status_code", status)
        if status >= 500:
            self.span.set_status(Status(StatusCode.ERROR))
        self.span.end()
        try:
            context.detach(self._token)
        except ValueError:  # ended in another context than it began (a stream finished elsewhere)
            pass


def server_span(method: str, path: str, parent: TraceParent | None) -> ServerSpan | None:
    return ServerSpan(method, path, parent) if _tracer is not None else None


@contextmanager
def client_span(name: str, headers: MutableMapping[str, str], **attributes: Any) -> Iterator[None]:
    """A CLIENT span around a call made from here, its `traceparent` put in `headers`."""
    if _tracer is None:
        yield
        return
    from opentelemetry.trace import SpanKind

    attrs = {f"tollway.{k}": v for k, v in attributes.items()}
    with _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attrs) as span:
        headers["traceparent"] = _ids(span).header()
        yield


def link_traces(traces: Iterable[tuple[str, str]]) -> None:
    """Link the current span to each (trace id, span id): the ledger's ingest span to the requests
    whose receipts it books."""
    if _tracer is None:
        return
    from opentelemetry import trace
    from opentelemetry.trace import SpanContext, TraceFlags

    span = trace.get_current_span()
    for trace_id, span_id in traces:
        span.add_link(SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                                  trace_flags=TraceFlags(TraceFlags.SAMPLED)))


def log_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the current span's trace and span ids on every line logged while one is
    current and the request did not bind them already (background work inside a span)."""
    if _tracer is None or "trace_id" in event:
        return event
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event["trace_id"], event["span_id"] = format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    return event
