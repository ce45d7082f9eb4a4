"""One client request as the gateway handles it, whichever API it came through."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import Conflict
from services.common.selection.request import Requirements


@dataclass(slots=True)
class Call:
    request_id: str
    run_id: str
    agent: str
    payload: dict[str, Any]
    requirements: Requirements
    optimization: str
    stream: bool = False
    credential: str | None = field(default=None, repr=False)  # the client's key as sent: never logged
    kind: str = "chat"  # chat | embeddings: what is sent upstream and how the answer is read
    client_ip: str | None = None
    cache_headers: dict[str, str] = field(default_factory=dict)  # Cache-Control, X-Tollway-Cache-TTL

    @property
    def client_wants_usage(self) -> bool:
        opts = self.payload.get("stream_options") or {}
        return bool(opts.get("include_usage"))


class RecentRequestIds:
    """Refuses a request id seen recently: receipts are idempotent on request_id, so a reused id
    would make the ledger drop the second request's spend."""

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
