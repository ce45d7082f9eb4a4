"""`AlertStore`: the alert tables on the ledger's own database, through the ledger store's
connection and transactions (SQLite's one worker thread, or PostgreSQL's pool)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from services.ledger.alerts.model import Alert, Attempt, Change, Delivery
from services.ledger.store import alert_rows as rows
from services.ledger.store.base import LedgerStore
from services.ledger.store.scripted import Script, on_postgres, on_sqlite

T = TypeVar("T")
RULES = ("alert_rules", "rule_id")
CHANNELS = ("alert_channels", "channel_id")


class AlertStore:
    def __init__(self, ledger_store: LedgerStore) -> None:
        self._store: Any = ledger_store
        self._runner: Callable[..., Any] = on_postgres if hasattr(ledger_store, "_pool") else on_sqlite

    async def _write(self, script: Script[T]) -> T:
        result: T = await self._store._write(self._runner, script)
        return result

    async def _read(self, script: Script[T]) -> T:
        result: T = await self._store._read(self._runner, script)
        return result

    # -- rules and channels: their specs as stored JSON ------------------------------------------

    async def put_rule(self, rule_id: str, spec: str, now_us: int) -> bool:
        return await self._write(rows.put_spec(*RULES, rule_id, spec, now_us))

    async def rules(self, rule_id: str | None = None) -> list[tuple[str, str, int]]:
        return await self._read(rows.specs(*RULES, rule_id))

    async def delete_rule(self, rule_id: str) -> bool:
        return await self._write(rows.delete_spec(*RULES, rule_id))

    async def put_channel(self, channel_id: str, spec: str, now_us: int) -> bool:
        return await self._write(rows.put_spec(*CHANNELS, channel_id, spec, now_us))

    async def channels(self, channel_id: str | None = None) -> list[tuple[str, str, int]]:
        return await self._read(rows.specs(*CHANNELS, channel_id))

    async def delete_channel(self, channel_id: str) -> bool:
        return await self._write(rows.delete_spec(*CHANNELS, channel_id))

    # -- alerts ------------------------------------------------------------------------------------

    async def fire(self, alert: Alert, deliveries: Sequence[Delivery]) -> bool:
        return await self._write(rows.fire(alert, deliveries))

    async def resolve(self, alert_id: str, now_us: int, value: str | None, note: str,
                      deliveries: Sequence[Delivery]) -> bool:
        return await self._write(rows.resolve(alert_id, now_us, value, note, deliveries))

    async def acknowledge(self, alert_id: str, now_us: int, note: str | None) -> str | None:
        return await self._write(rows.acknowledge(alert_id, now_us, note))

    async def open_alerts(self) -> list[Alert]:
        return await self._read(rows.open_alerts())

    async def alerts(self, state: str | None = None, rule_id: str | None = None, limit: int = 100) -> list[Alert]:
        return await self._read(rows.alerts(state, rule_id, limit))

    async def alert(self, alert_id: str) -> tuple[Alert, list[Change]] | None:
        return await self._read(rows.alert(alert_id))

    # -- deliveries ----------------------------------------------------------------------------

    async def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        return await self._write(rows.enqueue(deliveries))

    async def any_due(self, now_us: int) -> bool:
        """A read: whether claim_due would find anything (so an idle loop takes no write lock)."""
        return await self._read(rows.any_due(now_us))

    async def claim_due(self, now_us: int, lease_us: int, limit: int = 50) -> list[Delivery]:
        return await self._write(rows.claim_due(now_us, lease_us, limit))

    async def record_attempt(self, delivery_id: str, now_us: int, error: str | None, next_us: int | None) -> None:
        await self._write(rows.record_attempt(delivery_id, now_us, error, next_us))

    async def deliveries(self, status: str | None = None, kind: str | None = None,
                         limit: int = 100) -> list[Delivery]:
        return await self._read(rows.deliveries(status, kind, limit))

    async def delivery(self, delivery_id: str) -> tuple[Delivery, list[Attempt]] | None:
        return await self._read(rows.delivery(delivery_id))

    async def retry(self, delivery_id: str, now_us: int) -> bool:
        return await self._write(rows.retry(delivery_id, now_us))

    # -- reads for summaries and the budget event sweep ------------------------------------------------------

    async def budget_events_since(self, since_us: int) -> list[tuple[Any, ...]]:
        return await self._read(rows.budget_events_since(since_us))

    async def alert_counts(self, first_us: int, last_us: int) -> dict[str, int]:
        return await self._read(rows.alert_counts(first_us, last_us))
