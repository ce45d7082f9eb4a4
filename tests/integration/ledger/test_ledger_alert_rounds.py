"""Alert evaluation rounds across ledger replicas, with a frozen clock: on PostgreSQL one replica
evaluates each round (an advisory lock and a round mark) and the others skip it, and when that
replica is gone another evaluates the next round; on SQLite (one process) every runner evaluates
as before. Rounds are counted by `tollway_ledger_alert_rounds_total{outcome}`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from services.common.clock import FrozenClock, utc_iso
from services.common.settings import Settings
from services.ledger.alerts.runner import AlertRunner
from services.ledger.app import create_app
from services.ledger.store.factory import make_store
from tests.integration.ledger.alert_receivers import http_receiver
from tests.integration.ledger.ledger_factory import make_receipt, post
from tests.pg import pg_schema

RULE = {"rule_id": "spend-high", "name": "spend high", "metric": "cost", "operator": ">", "threshold": "0.50",
        "window": "1h", "severity": "critical", "channels": ["hook"]}


@asynccontextmanager
async def replica(tmp_path: Path, clock: FrozenClock, database_url: str) -> AsyncIterator[
        tuple[httpx.AsyncClient, AlertRunner]]:
    """A ledger whose alert loop the test drives (`runner.tick()`)."""
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, database_url=database_url,
                              alerts_enabled=False), clock=clock)
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ledger") as client:
        yield client, app.state.alerts


def rounds(runner: AlertRunner, outcome: str) -> int:
    value = runner.ctx.metrics.service.registry.get_sample_value("tollway_ledger_alert_rounds_total",
                                                                 {"outcome": outcome})
    return int(value or 0)


def counts(*runners: AlertRunner) -> list[tuple[int, int]]:
    return [(rounds(r, "evaluated"), rounds(r, "skipped")) for r in runners]


async def set_up(client: httpx.AsyncClient, clock: FrozenClock, hook_url: str) -> None:
    made = await client.post("/alerts/channels", json={"channel_id": "hook", "kind": "webhook", "url": hook_url,
                                                        "secret": "whsec-0123456789abcdef-tollway",
                                                        "events": ["alerts"]})
    assert made.status_code == 201, made.text
    assert (await client.post("/alerts/rules", json=RULE)).status_code == 201
    resp = await post(client, "/receipts", {"receipts": [make_receipt("0.60", timestamp=utc_iso(clock.now()))]})
    assert resp.status_code == 200


async def test_two_replicas_evaluate_each_round_once_on_postgres_and_both_on_sqlite(
        tmp_path: Path, clock: FrozenClock, backend: str, database_url: str) -> None:
    async with http_receiver() as receiver, replica(tmp_path, clock, database_url) as (client, one), \
            replica(tmp_path, clock, database_url) as (_, two):
        await set_up(client, clock, receiver.url("/hook"))
        await one.tick()
        await two.tick()
        if backend == "postgres":
            assert counts(one, two) == [(1, 0), (0, 1)]
        else:  # one process: nothing changes, each runner evaluates
            assert counts(one, two) == [(1, 0), (1, 0)]
        clock.set(clock.now() + timedelta(seconds=61))  # the next round
        await two.tick()
        await one.tick()
        if backend == "postgres":
            assert counts(one, two) == [(1, 1), (1, 1)]  # whoever comes first
        else:
            assert counts(one, two) == [(2, 0), (2, 0)]
        assert len((await client.get("/alerts")).json()) == 1  # fired once either way
        assert len(receiver.on("/hook")) == 1


async def test_when_the_evaluating_replica_is_gone_the_other_evaluates_the_next_round(
        tmp_path: Path, clock: FrozenClock) -> None:
    async with pg_schema() as url, http_receiver() as receiver, replica(tmp_path, clock, url) as (client, two):
        async with replica(tmp_path, clock, url) as (other, one):
            await set_up(other, clock, receiver.url("/hook"))
            await one.tick()
            await two.tick()
            assert counts(one, two) == [(1, 0), (0, 1)]
        # `one` stopped (its connections closed): the next round is the other's
        clock.set(clock.now() + timedelta(seconds=61))
        await two.tick()
        assert counts(two) == [(1, 1)]
        clock.set(clock.now() + timedelta(seconds=30))
        await two.tick()  # not due yet: no round at all
        assert counts(two) == [(1, 1)]
        assert len((await client.get("/alerts")).json()) == 1


async def test_the_lock_is_held_for_the_round_keyed_by_schema_and_a_failed_round_is_not_marked(
        tmp_path: Path) -> None:
    async with pg_schema() as url, pg_schema() as elsewhere:
        a, b, c = (make_store(Settings(artifacts_dir=tmp_path / n, database_url=u))
                   for n, u in (("a", url), ("b", url), ("c", elsewhere)))
        for store in (a, b, c):
            await store.open()
        try:
            with pytest.raises(RuntimeError):
                async with a.exclusive_round("alert_round", 5) as mine:
                    assert mine
                    async with b.exclusive_round("alert_round", 5) as theirs:
                        assert not theirs  # held
                    async with b.exclusive_round("alert_round", 6) as theirs:
                        assert not theirs  # held, whatever the round
                    async with c.exclusive_round("alert_round", 5) as other_schema:
                        assert other_schema  # another deployment's schema has a lock of its own
                    raise RuntimeError("the holder fails mid-round")
            async with b.exclusive_round("alert_round", 5) as theirs:
                assert theirs  # the failed round was not marked: it is done again
            async with a.exclusive_round("alert_round", 5) as mine:
                assert not mine  # marked done by b
            async with a.exclusive_round("alert_round", 6) as mine:
                assert mine
        finally:
            for store in (a, b, c):
                await store.close()
