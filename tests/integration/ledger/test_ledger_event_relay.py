"""Two ledgers on one PostgreSQL: the events one raises reach the other's bus (its GET /events
readers), with money exactly as written, and are not sent back; a ledger on another schema hears
none of them."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import orjson
from fastapi import FastAPI

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.ledger.app import create_app
from services.ledger.events.bus import Event, EventBus
from services.ledger.events.relay import MAX_PAYLOAD, PgEventRelay
from tests.integration.ledger.conftest import pg_schema
from tests.integration.ledger.ledger_factory import make_receipt, post


def ledger(url: str, root: Path, clock: FrozenClock) -> FastAPI:
    return create_app(Settings(artifacts_dir=root, access_log=False, database_url=url), clock=clock)


async def events_after(app: FastAPI, last: int, want: int) -> list[Event]:
    bus: EventBus = app.state.ledger.events
    for _ in range(200):  # a NOTIFY arrives at the listener within milliseconds; up to 10 s here
        found = bus.after(last)
        if isinstance(found, list) and len(found) >= want:
            return found
        await bus.wait_after(bus.latest_id, 0.05)
    found = bus.after(last)
    return found if isinstance(found, list) else []


async def test_receipts_and_thresholds_ingested_on_one_ledger_reach_the_other(tmp_path: Path,
                                                                             clock: FrozenClock) -> None:
    async with pg_schema() as url, pg_schema() as elsewhere, AsyncExitStack() as stack:
        a, b = ledger(url, tmp_path / "a", clock), ledger(url, tmp_path / "b", clock)
        other = ledger(elsewhere, tmp_path / "other", clock)
        for app in (a, b, other):
            await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(httpx.AsyncClient(transport=httpx.ASGITransport(app=a),
                                                                   base_url="http://a"))
        await asyncio.sleep(0.3)  # the relays' LISTEN connections are up
        starts = {name: app.state.ledger.events.latest_id for name, app in (("a", a), ("b", b), ("o", other))}
        assert (await post(client, "/budget", {"run_id": "relayed", "budget_usd": "0.002000"})).status_code == 201
        receipts = [make_receipt("0.001300", run_id="relayed", org="acme"),
                    make_receipt("0.000600", run_id="relayed", org="acme")]
        assert (await post(client, "/receipts", {"receipts": receipts})).json()["accepted"] == 2
        heard = await events_after(b, starts["b"], 4)
        assert [e.kind for e in heard] == ["receipt", "receipt", "budget_threshold", "budget_threshold"]
        assert [e.tenant for e in heard] == ["org:acme"] * 4
        assert b'"cost_usd":0.001300' in heard[0].data  # as written, not re-printed as a float
        assert orjson.loads(heard[1].data)["request_id"] == receipts[1]["request_id"]
        assert [orjson.loads(e.data)["threshold"] for e in heard[2:]] == [75, 90]
        own = a.state.ledger.events.after(starts["a"])
        assert isinstance(own, list) and len(own) == 4  # its own four, none heard back
        await asyncio.sleep(0.3)
        assert other.state.ledger.events.latest_id == starts["o"]  # another schema hears nothing


def test_events_are_packed_under_the_notify_limit_and_an_oversized_one_is_counted() -> None:
    relay = PgEventRelay("postgresql://unused", EventBus(8, start_id=0))
    relay._schema = "s"
    small = [Event(i, "receipt", "org:a", b'{"n":%d,"pad":"%s"}' % (i, b"x" * 1000)) for i in range(20)]
    huge = Event(99, "receipt", None, b'{"pad":"%s"}' % (b"y" * MAX_PAYLOAD))
    payloads = relay._payloads([*small[:10], huge, *small[10:]])
    assert all(len(p.encode()) <= MAX_PAYLOAD for p in payloads) and len(payloads) == 3
    carried = [orjson.loads(p)["events"] for p in payloads]
    assert [data["n"] for batch in carried for _, _, data in batch] == list(range(20))
    assert relay.not_relayed == 1 and relay.sent == 20
