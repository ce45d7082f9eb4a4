"""The receipt shipper against a real ledger app (in-process, real SQLite): batches, a crash
between the ledger's ack and the cursor's update, torn lines, a ledger that is away."""

from contextlib import asynccontextmanager
from decimal import Decimal

import httpx

from services.common import jsonio
from services.common.settings import Settings
from services.gateway.receipts.shipper import ReceiptShipper
from services.gateway.receipts.writer import ReceiptWriter
from services.ledger.app import create_app
from tests.integration.ledger.ledger_factory import make_receipt


@asynccontextmanager
async def ledger(tmp_path):
    app = create_app(Settings(artifacts_dir=tmp_path / "ledger-data"))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://ledger") as c:
        yield c


def shipper_for(tmp_path, batch_size=7):
    return ReceiptShipper(tmp_path / "costs", tmp_path / "gw" / "shipped.json", "http://ledger",
                          batch_size=batch_size, interval_s=0.05, rejected_file=tmp_path / "rejected.jsonl")


async def run_view(client, run_id):
    return jsonio.loads_exact((await client.get(f"/receipts/{run_id}")).content)


async def test_ships_everything_in_batches_exactly_once_across_a_crash(tmp_path):
    writer = ReceiptWriter(tmp_path / "costs")
    receipts = [make_receipt(cost=f"0.{i:06d}", run_id="run-x") for i in range(1, 31)]
    for r in receipts:
        writer.write(r)
    async with ledger(tmp_path) as client:
        shipper = shipper_for(tmp_path)
        assert shipper.dirty == {"run-x.jsonl"}  # found by the start-up scan
        await shipper.ship_once(client)
        view = await run_view(client, "run-x")
        assert view["count"] == 30
        assert view["total_cost_usd"] == sum((r["cost_usd"] for r in receipts), Decimal(0))
        # crash after the ledger acked but before the cursor was saved: everything is re-sent
        (tmp_path / "gw" / "shipped.json").unlink()
        again = shipper_for(tmp_path)
        await again.ship_once(client)
        assert again.shipped == 30
        view = await run_view(client, "run-x")
        assert view["count"] == 30, "a re-sent receipt was counted twice"


async def test_a_torn_line_is_set_aside_and_the_rest_still_ships(tmp_path):
    costs = tmp_path / "costs"
    writer = ReceiptWriter(costs)
    writer.write(make_receipt(run_id="torn", request_id="before"))
    with open(costs / "torn.jsonl", "ab") as fh:
        fh.write(b'{"request_id": "half-writ\n')
    writer.write(make_receipt(run_id="torn", request_id="after"))
    with open(costs / "torn.jsonl", "ab") as fh:
        fh.write(b'{"request_id": "still being written')  # no newline yet: must wait
    async with ledger(tmp_path) as client:
        shipper = shipper_for(tmp_path)
        await shipper.ship_once(client)
        view = await run_view(client, "torn")
        assert sorted(r["request_id"] for r in view["receipts"]) == ["after", "before"]
        assert b"half-writ" in (tmp_path / "rejected.jsonl").read_bytes()
        assert "torn.jsonl" in shipper.dirty  # the unfinished line is still pending


async def test_ledger_away_keeps_the_backlog_then_delivers_it(tmp_path):
    writer = ReceiptWriter(tmp_path / "costs")
    shipper = shipper_for(tmp_path)
    for i in range(5):
        writer.write(make_receipt(run_id="later", request_id=f"l{i}"))
        shipper.mark("later")
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as dead:
        try:
            await shipper.ship_once(dead)
            raise AssertionError("shipping to a dead ledger should fail")
        except httpx.HTTPError:
            pass
    assert shipper.dirty == {"later.jsonl"} and shipper.offsets.get("later.jsonl", 0) == 0
    async with ledger(tmp_path) as client:
        await shipper.ship_once(client)
        assert (await run_view(client, "later"))["count"] == 5
    assert not shipper.dirty


async def test_a_batch_stays_within_the_body_limit(tmp_path):
    """A batch ends before its body would pass max_bytes (the ledger's body limit); a receipt
    longer than that goes alone; all of them arrive, each once."""
    writer = ReceiptWriter(tmp_path / "costs")
    receipts = [make_receipt(run_id="big", request_id=f"b{i}") for i in range(10)]
    for r in receipts:
        writer.write(r)
    line = len((tmp_path / "costs" / "big.jsonl").read_bytes()) // 10
    shipper = ReceiptShipper(tmp_path / "costs", tmp_path / "gw" / "shipped.json", "http://ledger", batch_size=100,
                             interval_s=0.05, rejected_file=tmp_path / "rejected.jsonl", max_bytes=3 * line + 20)
    bodies: list[int] = []

    async def measure(request: httpx.Request) -> None:
        if request.method == "POST":
            bodies.append(len(request.content))

    async with ledger(tmp_path) as client:
        client.event_hooks["request"].append(measure)
        await shipper.ship_once(client)
        assert (await run_view(client, "big"))["count"] == 10
        tiny = ReceiptShipper(tmp_path / "costs", tmp_path / "gw2" / "shipped.json", "http://ledger", batch_size=100,
                              interval_s=0.05, rejected_file=tmp_path / "rejected.jsonl", max_bytes=10)
        await tiny.ship_once(client)  # every receipt longer than the limit: one a batch, all re-sent once
        assert tiny.shipped == 10 and (await run_view(client, "big"))["count"] == 10
    assert len(bodies) == 4 + 10 and all(b <= 3 * line + 20 for b in bodies[:4])
    assert not shipper.dirty and not tiny.dirty


async def test_many_runs_ship_together_and_a_refused_receipt_costs_only_its_own_run(tmp_path):
    """Thirty runs with three receipts each go in batches that span runs (batch_size 40: three
    POSTs, not thirty); a run holding a receipt the ledger refuses (400) has its part set aside,
    the other runs of that batch still arrive, each receipt once."""
    writer = ReceiptWriter(tmp_path / "costs")
    for run in range(30):
        for i in range(3):
            writer.write(make_receipt(run_id=f"run-{run:02d}", request_id=f"r{run}-{i}"))
    with open(tmp_path / "costs" / "run-07.jsonl", "ab") as fh:
        fh.write(b'{"request_id": "refused", "run_id": "run-07"}\n')  # an object, but no receipt
    posts: list[int] = []

    async def count(request: httpx.Request) -> None:
        if request.method == "POST":
            posts.append(request.content.count(b'"request_id"'))

    shipper = shipper_for(tmp_path, batch_size=40)
    async with ledger(tmp_path) as client:
        client.event_hooks["request"].append(count)
        await shipper.ship_once(client)
        counts = {run: (await run_view(client, f"run-{run:02d}"))["count"] for run in range(30)}
    assert counts == {run: 0 if run == 7 else 3 for run in range(30)}
    assert shipper.shipped == 87 and not shipper.dirty
    rejected = (tmp_path / "rejected.jsonl").read_bytes()
    assert rejected.count(b"\n") == 4 and b'"refused"' in rejected and b"r7-0" in rejected
    # 91 receipts, 40 a batch: runs 00-12 (refused; then again run by run), 13 to 26's first, the rest
    assert posts == [40, *[3] * 7, 4, *[3] * 5, 40, 11]
