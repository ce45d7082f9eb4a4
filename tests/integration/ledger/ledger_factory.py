"""Test receipts for the ledger: every required field of routing_receipt.schema.json."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import httpx
import jsonschema

from services.common import contracts, jsonio

_seq = itertools.count(1)


def make_receipt(cost: str = "0.001000", *, input_cost: str | None = None, run_id: str = "run-a",
                 provider: str = "sim-openai", timestamp: str = "2026-11-23T10:30:00.000Z",
                 request_id: str | None = None, input_tokens: int = 100, output_tokens: int = 50,
                 **extra: Any) -> dict[str, Any]:
    """A receipt costing `cost` (split input/output so that they add up exactly)."""
    total = Decimal(cost)
    inp = Decimal(input_cost) if input_cost is not None else Decimal(0)
    out = total - inp
    receipt: dict[str, Any] = {
        "request_id": request_id or f"req-{next(_seq):06d}",
        "run_id": run_id, "agent": "tester", "timestamp": timestamp, "provider": provider,
        "model": "sim-small", "input_tokens": input_tokens, "output_tokens": output_tokens,
        "input_cost_usd": inp, "output_cost_usd": out, "cost_usd": total,
        "prices": {"input_per_mtok": Decimal("0.15"), "output_per_mtok": Decimal("0.60")},
        "latency_ms": 12.5, "status": "success", "fallback": False,
        "attempts": [{"provider": provider, "status": "success", "http_status": 200,
                      "latency_ms": 12.5}],
        "strategy": "cost", "reason": "cheapest eligible", "stream": False,
        "usage_estimated": False,
    }
    receipt.update(extra)
    return receipt


def as_json(obj: Any) -> bytes:
    """Bodies with Decimal money written exactly (httpx's json= would refuse Decimals)."""
    return jsonio.dumps(obj)


async def post(client: httpx.AsyncClient, url: str, obj: Any,
               headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(url, content=as_json(obj), headers={"content-type": "application/json", **(headers or {})})


def exact(resp: httpx.Response) -> Any:
    """The response body with money as Decimals."""
    return jsonio.loads_exact(resp.content)


def error_of(resp: httpx.Response) -> dict[str, Any]:
    """Assert a 4xx error body valid against contracts/error.schema.json; its `error` part."""
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    body = resp.json()
    jsonschema.validate(body, contracts.schema("error"))
    err: dict[str, Any] = body["error"]
    return err
