"""The W3C Trace Context `traceparent` header: `00-<trace id: 32 hex>-<parent span id: 16 hex>-<flags>`.

Parsed by hand (no OpenTelemetry needed): without tracing a service still carries a caller's
trace id into its logs and receipts and passes the header on to the provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FORMAT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


@dataclass(frozen=True, slots=True)
class TraceParent:
    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex: the span a call made from here is the child of
    flags: str = "01"  # 01: sampled

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def parse(value: str | bytes | None) -> TraceParent | None:
    """A valid header's fields; None for anything else (a bad header starts no trace and fails
    no request, as the W3C rules say). Version ff is invalid; a higher version's extra fields
    are ignored."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    match = _FORMAT.match(text.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id, span_id, flags)
