"""One client request as the gateway handles it, whichever API it came through."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import Conflict
from services.common.selection.request import Requirements
from services.common.tracing.traceparent import TraceParent


@dataclass(slots=True)
class Call:
    request_id: str  # the gateway's own, unique: the receipt's key at the ledger
    run_id: str
    agent: str
    payload: dict[str, Any]
    requirements: Requirements
    optimization: str | None  # the strategy the client named; None: its route's, else the configured default
    stream: bool = False
    credential: str | None = field(default=None, repr=False)  # the client's key as sent: never logged
    kind: str = "chat"  # chat | embeddings: what is sent upstream and how the answer is read
    client_ip: str | None = None
    cache_headers: dict[str, str] = field(default_factory=dict)  # Cache-Control, X-Tollway-Cache-TTL
    client_request_id: str | None = None  # the caller's id for it (X-Request-ID, /route's request_id)
    trace: TraceParent | None = None  # W3C trace context: the parent of its provider calls, on its receipt

    @property
    def trace_id(self) -> str:
        """The id the logs follow it by (and calls made for it carry as X-Request-ID): the caller's
        own when it gave one, as the gateway's access log shows."""
        return self.client_request_id or self.request_id

    @property
    def client_wants_usage(self) -> bool:
        opts = self.payload.get("stream_options") or {}
        return bool(opts.get("include_usage"))


class RecentRequestIds:
    """Refuses a caller's request id seen recently by this process: a repeat is most likely a
    client retrying by mistake. (Receipts never collide whatever the caller sends: their
    request_id is the gateway's own; the caller's is `client_request_id`.)"""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def claim(self, request_id: str) -> None:
        if request_id in self._ids:
            raise Conflict(f"request_id {request_id} was already used; send a new id for a new request",
                           field="request_id")
        self._ids[request_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
