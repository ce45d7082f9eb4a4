"""W3C traceparent parsing, and OpenTelemetry tracing that stays off (and cheap) unless asked for
and installed."""

from __future__ import annotations

import sys

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common.tracing import otel
from services.common.tracing.traceparent import TraceParent, parse

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def test_a_valid_traceparent_is_read_and_written_back() -> None:
    header = f"00-{TRACE}-{SPAN}-01"
    assert parse(header) == TraceParent(TRACE, SPAN, "01")
    assert parse(header.encode()) == TraceParent(TRACE, SPAN, "01")
    assert parse(header).header() == header  # type: ignore[union-attr]
    assert parse(f"01-{TRACE}-{SPAN}-00-future-fields") == TraceParent(TRACE, SPAN, "00")  # a later version


@pytest.mark.parametrize("header", [
    None, "", "garbage", f"00-{TRACE}-{SPAN}", f"00-{TRACE.upper()}-{SPAN}-01", f"ff-{TRACE}-{SPAN}-01",
    f"00-{'0' * 32}-{SPAN}-01", f"00-{TRACE}-{'0' * 16}-01", f"00-{TRACE}-{SPAN}-01-extra",
    f"00-{TRACE[:-1]}-{SPAN}-01"])
def test_anything_else_is_no_trace(header: str | None) -> None:
    assert parse(header) is None


def test_tracing_is_off_unless_asked_for() -> None:
    assert otel.setup("router", on=False) is False
    assert not otel.enabled() and otel.server_span("GET", "/x", None) is None
    headers: dict[str, str] = {}
    with otel.client_span("provider p", headers):
        pass
    assert headers == {}  # nothing injected when off
    assert otel.log_ids(None, "info", {"event": "x"}) == {"event": "x"}


def test_asked_for_without_the_extra_it_warns_and_stays_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # as if the SDK were not installed
    assert otel.setup("gateway", on=True) is False
    assert not otel.enabled()


def test_with_the_sdk_a_server_span_continues_the_caller_and_logs_carry_it() -> None:
    try:
        exported = InMemorySpanExporter()
        assert otel.setup("test", on=True, exporter=exported) is True
        span = otel.server_span("GET", "/things/1", TraceParent(TRACE, SPAN, "01"))
        assert span is not None and span.ids.trace_id == TRACE and span.ids.span_id != SPAN
        event = otel.log_ids(None, "info", {"event": "inside"})
        assert event["trace_id"] == TRACE and event["span_id"] == span.ids.span_id
        headers: dict[str, str] = {}
        with otel.client_span("provider p", headers, provider="p"):
            pass
        child = parse(headers["traceparent"])
        assert child is not None and child.trace_id == TRACE and child.span_id != span.ids.span_id
        span.end("/things/{id}", 200)
        done = {s.name: s for s in exported.get_finished_spans()}
        assert set(done) == {"provider p", "GET /things/{id}"}
        server = done["GET /things/{id}"]
        assert server.parent is not None and format(server.parent.span_id, "016x") == SPAN
        assert server.attributes["http.route"] == "/things/{id}" and done["provider p"].parent.span_id == \
            server.context.span_id
    finally:
        otel.reset()
