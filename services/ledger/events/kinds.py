"""What the ledger itself publishes on its event bus: a `receipt` for every receipt ingested (new
ones only: a duplicate is not published again) and a `budget_threshold` for every threshold a
budget crosses. Alerts publish `alert` themselves (`LedgerContext.events.publish`).

Whose event it is (the tenant a virtual key's reader must be): a receipt's own tenant (its org,
else its key). A threshold event raised by receipts is the tenant of the receipt that raised it;
one raised by changing a budget is its org's for an org budget, the key's tenant for a key budget,
the run's owner for a run budget, and nobody's (admin and open reads only) for a user or team
budget. Provider, model and global budgets span tenants: their events are nobody's, however raised
(as their REST reads are admin only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from services.common.money import fmt_usd, from_micros
from services.ledger.budgets.model import GLOBAL, GLOBAL_ID, RUN, ThresholdEvent
from services.ledger.events.bus import EventBus
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import LedgerStore
from services.ledger.times import iso

RECEIPT = "receipt"
BUDGET_THRESHOLD = "budget_threshold"
ALERT = "alert"
RESET = "reset"  # sent by the stream itself, never published


def threshold_payload(event: ThresholdEvent) -> dict[str, Any]:
    payload = {"scope": event.key.scope, "scope_id": event.key.scope_id, "threshold": event.threshold,
               "level": event.level, "at": iso(event.at_us),
               "spent_usd": fmt_usd(from_micros(event.spent_micros)),
               "budget_usd": fmt_usd(from_micros(event.budget_micros))}
    if event.period_start_us:  # a periodic budget's: raised once in the period starting then
        payload["period_start"] = iso(event.period_start_us)
    return payload


def publish_ingest(bus: EventBus, new: Sequence[Receipt], thresholds: Iterable[ThresholdEvent]) -> None:
    """After an ingest committed: its new receipts, then the thresholds they crossed."""
    for receipt in new:
        bus.publish(RECEIPT, receipt.body, receipt.tenant)
    for event in thresholds:
        bus.publish(BUDGET_THRESHOLD, threshold_payload(event), _raised_by(event, new))


async def publish_budget_change(bus: EventBus, store: LedgerStore, thresholds: Iterable[ThresholdEvent]) -> None:
    """After a budget was set (lowered under what is spent): the thresholds that crossed."""
    for event in thresholds:
        bus.publish(BUDGET_THRESHOLD, threshold_payload(event), await _owner(store, event))


SHARED = frozenset({"provider", "model", GLOBAL})  # budgets across tenants: admin only, as over REST


def _raised_by(event: ThresholdEvent, receipts: Sequence[Receipt]) -> str | None:
    scope, scope_id = event.key.scope, event.key.scope_id
    if scope in SHARED:
        return None
    for receipt in reversed(receipts):  # the last one under the budget pushed it over
        if scope_id == {RUN: receipt.run_id, "key": receipt.key_id, "user": receipt.user, "team": receipt.team,
                        "org": receipt.org, "provider": receipt.provider, "model": receipt.model,
                        GLOBAL: GLOBAL_ID}.get(scope):
            return receipt.tenant
    return None


async def _owner(store: LedgerStore, event: ThresholdEvent) -> str | None:
    scope, scope_id = event.key.scope, event.key.scope_id
    if scope == "org":
        return f"org:{scope_id}"
    if scope == "key":
        key = await store.key(scope_id)
        return None if key is None else ":".join(key.tenant)
    if scope == RUN:
        return await store.run_owner(scope_id)
    return None
