"""The W3C trace context a receipt carries (`trace_id`, `span_id`: the gateway's span of the
request), for the ledger's ingest span to link to when tracing is on (services/common/tracing/)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson

from services.ledger.receipts.parse import Receipt


def traces_of(receipts: Iterable[Receipt]) -> Iterator[tuple[str, str]]:
    for receipt in receipts:
        data = orjson.loads(receipt.body)
        trace_id, span_id = data.get("trace_id"), data.get("span_id")
        if isinstance(trace_id, str) and isinstance(span_id, str):
            yield trace_id, span_id
