"""Trace context across the services: the W3C `traceparent` (`traceparent`, no dependency) and,
with the `otel` extra installed and TOLLWAY_OTEL_ENABLED, OpenTelemetry spans exported over OTLP
(`otel`). docs/observability.md describes both."""
