"""From a contract-valid receipt to the row the ledger stores: exact micros, its instant, its JSON.

A receipt is refused (400, naming its request_id) when any amount is finer than a microdollar,
when cost_usd != input_cost_usd + output_cost_usd, when an integer amount it carries
(`cost_micros`, `input_cost_micros`, `output_cost_micros`; optional) is not its dollar amount
x 10^6, or when its timestamp is not a real instant or cannot be right (before 2020, or more than
a day ahead of the ledger's clock: report_times.py; a receipt shipped days late after an outage
is taken).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.common import jsonio, report_times
from services.common.clock import parse_utc
from services.common.errors import InvalidRequest
from services.common.ids import is_safe_id
from services.ledger.amounts import micros_of
from services.ledger.times import US_PER_S, to_us

COST_FIELDS = ("input_cost_usd", "output_cost_usd", "cost_usd")
MICROS_FIELDS = {"input_cost_micros": "input_cost_usd", "output_cost_micros": "output_cost_usd",
                 "cost_micros": "cost_usd"}  # optional: receipts written before them lack them
MAX_TOKENS = 10**15  # far above any real request; keeps sums inside SQLite's 64-bit integers


@dataclass(frozen=True)
class Receipt:
    request_id: str
    run_id: str
    ts_us: int
    provider: str
    input_tokens: int
    output_tokens: int
    cost_micros: int
    body: bytes  # the receipt's JSON, numbers written exactly as received
    lease_ids: tuple[str, ...] = ()  # the gateway leases whose held money this receipt's cost consumes
    saved_micros: int = 0  # what a cache hit saved (the cost of the answer it reused)
    cache_hit: bool = False
    key_id: str | None = None  # the virtual key that sent the request, and its tenant
    team: str | None = None
    org: str | None = None
    experiment: str | None = None  # the A/B experiment and arm that routed it
    arm: str | None = None
    model: str = ""  # the series' other dimensions and measures (services/ledger/analytics/)
    agent: str = ""
    user: str | None = None
    status: str = "success"
    latency_ms: float = 0.0
    cached_tokens: int = 0  # of input_tokens, read from the provider's prompt cache

    @property
    def tenant(self) -> str | None:
        """Whose receipt this is, for tenant-scoped reads: its organisation, else its key."""
        if self.org:
            return f"org:{self.org}"
        return f"key:{self.key_id}" if self.key_id else None


def parse_receipt(data: dict[str, Any], *, now_us: int, field_prefix: str = "") -> Receipt:
    """`data` is valid against routing_receipt.schema.json and was parsed with exact numbers;
    `now_us` is the ledger's clock, which its timestamp may not be too far ahead of."""
    request_id = str(data["request_id"])

    where = f"receipt {request_id}: "

    def refuse(message: str, field: str) -> InvalidRequest:
        return InvalidRequest(where + message, field=(field_prefix + field).rstrip(".") or None)

    def micros(name: str) -> int:
        return micros_of(data[name], name, where=where, path=field_prefix + name)

    costs = {name: micros(name) for name in COST_FIELDS}
    if data.get("hold_usd") is not None:
        micros("hold_usd")
    saved = micros("saved_usd") if data.get("saved_usd") is not None else 0
    if not is_safe_id(str(data["run_id"])):
        raise refuse("run_id must match [A-Za-z0-9._-]{1,128} without '..'", "run_id")
    if costs["cost_usd"] != costs["input_cost_usd"] + costs["output_cost_usd"]:
        raise refuse(f"cost_usd {data['cost_usd']} != input_cost_usd {data['input_cost_usd']}"
                     f" + output_cost_usd {data['output_cost_usd']}", "cost_usd")
    for name, usd_name in MICROS_FIELDS.items():
        if name in data and data[name] != costs[usd_name]:
            raise refuse(f"{name} {data[name]} != {usd_name} {data[usd_name]} x 10^6", name)
    for name in ("input_tokens", "output_tokens"):
        if data[name] > MAX_TOKENS:
            raise refuse(f"{name} is too large (at most {MAX_TOKENS})", name)
    try:
        ts_us = to_us(parse_utc(data["timestamp"]))
    except ValueError:
        raise refuse(f"timestamp {data['timestamp']!r} is not a valid UTC instant",
                     "timestamp") from None
    wrong = report_times.refusal(ts_us / US_PER_S, now_us / US_PER_S)
    if wrong is not None:
        raise refuse(f"timestamp {data['timestamp']!r} {wrong}", "timestamp")
    try:
        body = jsonio.dumps(data)
    except TypeError as exc:  # e.g. an integer beyond 64 bits in a field the ledger does not use
        raise refuse(f"cannot be stored: {exc}", "") from None
    experiment = data.get("experiment") or {}
    return Receipt(request_id=request_id, run_id=str(data["run_id"]), ts_us=ts_us,
                   provider=str(data["provider"]), input_tokens=int(data["input_tokens"]),
                   output_tokens=int(data["output_tokens"]), cost_micros=costs["cost_usd"],
                   body=body, saved_micros=saved, cache_hit=data.get("cache") == "hit",
                   lease_ids=tuple(data.get("lease_ids") or ()), key_id=data.get("key_id"),
                   team=data.get("team"), org=data.get("org"), experiment=experiment.get("name"),
                   arm=experiment.get("arm"), model=str(data.get("model", "")), agent=str(data.get("agent", "")),
                   user=data.get("user"), status=str(data.get("status", "success")),
                   latency_ms=float(data.get("latency_ms", 0)),
                   cached_tokens=int(data.get("cache_read_input_tokens") or 0))


def parse_batch(receipts: Sequence[dict[str, Any]], now_us: int) -> list[Receipt]:
    """Every receipt of a batch, or the first refusal: a bad batch writes nothing."""
    return [parse_receipt(r, now_us=now_us, field_prefix=f"receipts.{i}.") for i, r in enumerate(receipts)]
