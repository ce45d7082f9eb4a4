"""Whose a budget threshold event is: the tenant of the receipt that crossed it, except for the
budgets that span tenants (provider, model, global), which only the admin sees."""

from __future__ import annotations

import pytest

from services.ledger.budgets.model import GLOBAL, GLOBAL_ID, BudgetKey, ThresholdEvent
from services.ledger.events.bus import EventBus
from services.ledger.events.kinds import BUDGET_THRESHOLD, RECEIPT, publish_ingest
from services.ledger.receipts.parse import Receipt


def receipt(request_id: str, org: str) -> Receipt:
    return Receipt(request_id=request_id, run_id="run-1", ts_us=1, provider="p1", input_tokens=1, output_tokens=1,
                   cost_micros=10, body=b'{"request_id":"%s"}' % request_id.encode(), key_id="k1", user="u1",
                   team="t1", org=org, model="m1")


@pytest.mark.parametrize(("scope", "scope_id", "tenant"), [
    ("run", "run-1", "org:acme"), ("key", "k1", "org:acme"), ("user", "u1", "org:acme"), ("team", "t1", "org:acme"),
    ("org", "acme", "org:acme"), ("provider", "p1", None), ("model", "m1", None), (GLOBAL, GLOBAL_ID, None),
    ("org", "nobody-spent-here", None)])
def test_a_crossing_belongs_to_the_receipt_that_made_it_unless_the_budget_spans_tenants(
        scope: str, scope_id: str, tenant: str | None) -> None:
    bus = EventBus(8, start_id=0)
    crossing = ThresholdEvent(BudgetKey(scope, scope_id), 75, at_us=1, spent_micros=75, budget_micros=100)
    publish_ingest(bus, [receipt("r1", "acme")], [crossing])
    published = bus.after(0)
    assert isinstance(published, list)
    assert [(e.kind, e.tenant) for e in published] == [(RECEIPT, "org:acme"), (BUDGET_THRESHOLD, tenant)]
